"""`abiguard layout`: a pahole-style view of one type's layout, per architecture."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ..errors import AbiguardError
from .common import SourceArgs, report_diagnostics, source_options, write_output

if TYPE_CHECKING:
    from ..model import TypeGraph


@click.command()
@click.argument("type_name", metavar="TYPE")
@click.argument("source", required=False)
@click.option("--expand", is_flag=True, help="Show embedded structs and unions inline (like pahole -E).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
@source_options
def layout(
    type_name: str,
    source: str | None,
    expand: bool,
    fmt: str,
    output: str | None,
    sources: SourceArgs,
) -> int:
    """Show offsets, sizes, holes and padding of TYPE (`struct foo`, `foo` or a typedef) in SOURCE.

    SOURCE defaults to the running kernel's BTF (/sys/kernel/btf/vmlinux). Text is pahole's
    layout plus the alignment (marked derived where the source, e.g. BTF, records none).

    \b
    JSON, one object per arch (a list for several arches):
      {arch, name, kind, size, align, align_derived, [type,]
       members: [{name, type, offset, size, bit_offset, bit_size[, members]}]}
    offset: byte of the first bit; bit_offset: absolute bits; bit_size: width, 0 unless a
    bitfield; inline (anonymous or --expand) members nest, offsets from the outermost type.
    Enums give signed and enumerators: [{name, value}] instead of members.
    """
    from ..report.layout import render_layout

    graphs = sources.load(source)
    report_diagnostics(graphs)
    entries = resolve_everywhere(graphs, type_name)
    write_output(render_layout(entries, fmt, expand), output)
    return 0


def resolve_everywhere(graphs: list[TypeGraph], type_name: str) -> list[tuple[TypeGraph, int]]:
    """TYPE in every graph that has it; arches lacking it (an #ifdef'd struct) get a warning.

    Resolving happens before anything is printed: a name found nowhere, or ambiguous anywhere,
    is one error and no partial output.
    """
    found: list[tuple[TypeGraph, int]] = []
    missing: list[tuple[TypeGraph, AbiguardError]] = []
    for g in graphs:
        try:
            found.append((g, g.resolve(type_name)))
        except AbiguardError as e:
            if not e.message.startswith("no type"):
                raise
            missing.append((g, e))
    if not found:
        raise missing[0][1]
    for g, e in missing:
        click.echo(f"abiguard: warning: {g.target.name}: {e.message}", err=True)
    return found
