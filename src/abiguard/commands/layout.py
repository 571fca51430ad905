"""`abiguard layout`: a pahole-style view of one type's layout, per architecture."""

from __future__ import annotations

import click

from .common import SourceArgs, report_diagnostics, report_missing, source_options, write_output


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
    from .. import api

    report = api.layout(type_name, source, sources.arch, expand, sources.options)
    report_diagnostics(list(report.graphs))
    report_missing(report.missing)
    write_output(report.render(fmt), output)
    return 0
