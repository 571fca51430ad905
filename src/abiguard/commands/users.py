"""`abiguard users`: which types hold TYPE by value (with the member path) and which only point at it."""

from __future__ import annotations

import click

from .common import SourceArgs, report_diagnostics, report_missing, source_options, write_output


@click.command()
@click.argument("type_name", metavar="TYPE")
@click.argument("source", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
@source_options
def users(
    type_name: str,
    source: str | None,
    fmt: str,
    output: str | None,
    sources: SourceArgs,
) -> int:
    """List every type embedding TYPE by value (transitively) and those reaching it only via a pointer.

    SOURCE defaults to the running kernel's BTF (/sys/kernel/btf/vmlinux). Embedders come with the
    member path (`bpf_perf_event_data.regs (via typedef bpf_user_pt_regs_t)`): their layout changes
    when TYPE's does. Pointer users hold a pointer to TYPE, or embed something that does (one pointer
    on the way); a layout change of TYPE does not move their members.

    \b
    JSON, one object per arch (a list for several arches):
      {arch, name, by_value: [{kind, name, path}], by_pointer: [{kind, name, path}]}
    """
    from .. import api

    report = api.users(type_name, source, sources.arch, sources.options)
    report_diagnostics(list(report.graphs))
    report_missing(report.missing)
    write_output(report.render(fmt), output)
    return 0
