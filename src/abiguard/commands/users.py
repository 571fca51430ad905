"""`abiguard users`: which types hold TYPE by value (with the member path) and which only point at it."""

from __future__ import annotations

import click

from .common import load_graphs, make_options, report_diagnostics, source_options, write_output


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
    arch: tuple[str, ...],
    include: tuple[str, ...],
    define: tuple[str, ...],
    base: str | None,
    no_cache: bool,
) -> int:
    """List every type embedding TYPE by value (transitively) and those reaching it only via a pointer.

    SOURCE defaults to the running kernel's BTF (/sys/kernel/btf/vmlinux).
    """
    from ..report.users import find_users, render_users

    graphs = load_graphs(source, arch, make_options(include, define, base, no_cache))
    report_diagnostics(graphs)
    entries = [(g, g.resolve(type_name)) for g in graphs]
    write_output(render_users([find_users(g, tid) for g, tid in entries], fmt), output)
    return 0
