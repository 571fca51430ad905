"""`abiguard diff`: compare two versions of an ABI on every requested arch and judge each change."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from .common import SourceArgs, source_options, write_output

_FORMATS = ("text", "json", "markdown", "sarif", "html", "junit")


@click.command()
@click.argument("old")
@click.argument("new")
@click.option("--type", "types", multiple=True, metavar="NAME",
              help="Only these types (and what they reach); repeatable. Default: every named type and constant.")
@click.option("--format", "fmt", type=click.Choice(_FORMATS), default="text", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the report to this file.")
@click.option("--waivers", type=click.Path(dir_okay=False), help="TOML file of waived findings.")
@click.option("--fail-on", type=click.Choice(["breaking", "review"]), default="breaking", show_default=True,
              help="Lowest severity that makes the exit code 1.")
@source_options
def diff(
    old: str,
    new: str,
    types: tuple[str, ...],
    fmt: str,
    output: str | None,
    waivers: str | None,
    fail_on: str,
    sources: SourceArgs,
) -> int:
    """Compare OLD with NEW (BTF, ELF objects, headers, directories, kernel:PATH@REF, snapshots).

    Exit 0: nothing at --fail-on level; 1: something is; 2: error.
    """
    from ..compare import run_diff
    from ..compare.findings import Severity
    from ..compare.waivers import load_waivers
    from ..report import render_diff

    # Read the waivers first: a bad waiver file should fail before minutes of parsing.
    loaded = load_waivers(Path(waivers), dt.date.today()) if waivers else None
    old_graphs = sources.load(old)
    new_graphs = sources.load(new)
    result = run_diff(old_graphs, new_graphs, roots=types, waivers=loaded)
    color = output is None and fmt == "text" and sys.stdout.isatty()
    write_output(render_diff(result, fmt, color, fail_on), output)
    threshold = Severity.parse(fail_on)
    return 1 if result.verdict >= threshold else 0
