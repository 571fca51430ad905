"""`abiguard snapshot`: save a source's per-arch type graphs as a baseline file for later diffs."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import AbiguardError
from .common import SourceArgs, report_diagnostics, source_options


@click.command()
@click.argument("source", required=False)
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="Snapshot file (.json or .json.gz)."
)
@source_options
def snapshot(
    source: str | None,
    output: str,
    sources: SourceArgs,
) -> int:
    """Read SOURCE once (headers, kernel:PATH[@REF], BTF) and store it; diff against the file later."""
    from .. import api
    from ..sources.snapshot import write_snapshot

    graphs = api.load(source, sources.arch, sources.options)
    report_diagnostics(graphs)
    path = Path(output)
    try:
        write_snapshot(graphs, path)
    except OSError as e:
        raise AbiguardError(path, f"cannot write: {e.strerror or e}") from None
    arches = ", ".join(g.target.name for g in graphs)
    click.echo(f"wrote {path}: {sum(len(g) - 1 for g in graphs)} types for {arches}", err=True)
    return 0
