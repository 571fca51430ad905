"""`abiguard fleet`: build a deduplicated index of many kernels' BTF, and describe one."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click


@click.group("fleet")
def fleet() -> None:
    """Index many kernels once; `abiguard core --fleet` then checks objects against all of them."""


@fleet.command("build")
@click.argument("kernels", nargs=-1, required=True, metavar="KERNEL...")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Index to write (default: the --update index).")
@click.option("--update", type=click.Path(dir_okay=False), metavar="FLEET", help="Add the kernels to this index.")
@click.option("--scheduler", metavar="tcp://HOST:8786", help="Run on this Dask cluster instead of a local one.")
@click.option("--workers", type=click.IntRange(min=1), help="Local Dask workers (default: one per core).")
@click.option("--serial", is_flag=True, help="Hash every kernel in this process, without Dask.")
def build(
    kernels: tuple[str, ...],
    output: str | None,
    update: str | None,
    scheduler: str | None,
    workers: int | None,
    serial: bool,
) -> int:
    """Hash KERNEL... (BTF files, ELF files, directories, BTFHub archives) into one index.

    Every distinct type is stored once; the result is the same bytes however the work was spread.
    """
    from ..bpf.fleet.build import build_serial, builder_from, input_files, write_index
    from ..bpf.fleet.dask_build import build_dask
    from ..bpf.fleet.format import check_path, open_fleet

    if output is None and update is None:
        raise click.UsageError("give --output FLEET, or --update FLEET")
    if serial and (scheduler or workers):
        raise click.UsageError("--serial runs without Dask: drop --scheduler/--workers")
    out = Path(output or update or "")
    check_path(out)
    base = builder_from(open_fleet(Path(update)).load_all()) if update else None
    files = input_files(kernels)
    with _progress(len(files)) as advance:
        b = build_serial(files, base, advance) if serial else build_dask(files, base, scheduler, workers, advance)
    size = write_index(b, out)
    click.echo(f"{out}: {len(b.kernels)} kernel(s), {len(b.records)} distinct types, {size} bytes", err=True)
    return 0


@fleet.command("info")
@click.argument("index", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def info(index: str, fmt: str) -> int:
    """Kernels, arches, sizes and the deduplication ratio of an index."""
    from ..bpf.fleet.format import open_fleet
    from ..bpf.fleet.stats import fleet_stats, render_stats

    stats = fleet_stats(open_fleet(Path(index)))
    click.echo(render_stats(stats, fmt), nl=False)
    return 0


@contextmanager
def _progress(total: int) -> Iterator[Callable[[int], None] | None]:
    """A rich progress bar on a terminal; nothing when stderr is a file or a pipe."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("hashing kernels"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("build", total=total)
        yield lambda n: bar.advance(task, n)



