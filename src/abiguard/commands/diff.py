"""`abiguard diff`: compare two versions of an ABI on every requested arch and judge each change."""

from __future__ import annotations

import sys

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
    from .. import api

    report = api.diff(old, new, sources.arch, waivers, types, sources.options)
    color = output is None and fmt == "text" and sys.stdout.isatty()
    write_output(report.render(fmt, color, fail_on), output)
    return 1 if report.breaks(fail_on) else 0
