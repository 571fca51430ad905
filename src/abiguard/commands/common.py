"""Options and helpers every subcommand shares: sources, arches, warnings, output files."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..errors import AbiguardError
from ..fileio import atomic_write
from ..model.diagnostics import arch_label, notes_by_arch

if TYPE_CHECKING:
    from ..api import Missing, ReadOptions
    from ..model import TypeGraph

F = TypeVar("F", bound=Callable[..., Any])


def arch_option(f: F) -> F:
    """`--arch`: repeatable, comma lists and `all` accepted."""
    return click.option(
        "--arch",
        "arch",
        multiple=True,
        metavar="LIST",
        help="Architectures: a name, a comma list or 'all' (aliases such as arm64, s390, x86 work).",
    )(f)


@dataclass(frozen=True)
class SourceArgs:
    """What the shared source options asked for: the arches and how to read sources."""

    arch: tuple[str, ...]
    options: ReadOptions


def source_options(f: F) -> F:
    """Add the options that say how sources are read (arches, include dirs, defines, split-BTF base,
    cache) and hand the command one `sources: SourceArgs` argument for all of them."""
    # Imported here, not at the top: `core` shares this module and reads no sources.
    from ..api import ReadOptions
    from ..sources.libc import HELP as LIBC_HELP

    @functools.wraps(f)
    def command(*args: Any, arch: tuple[str, ...], include: tuple[str, ...], define: tuple[str, ...],
                base: str | None, no_cache: bool, libc_include: tuple[str, ...], **kwargs: Any) -> Any:
        options = ReadOptions(include, define, base, use_cache=not no_cache, progress=sys.stderr.isatty(),
                              libc_include=libc_include)
        return f(*args, sources=SourceArgs(arch, options), **kwargs)

    decorators = [
        arch_option,
        click.option("-I", "--include", "include", multiple=True, metavar="DIR", help="Header include directory."),
        click.option("-D", "--define", "define", multiple=True, metavar="NAME[=VAL]", help="Preprocessor define."),
        click.option("--libc-include", "libc_include", multiple=True, metavar="DIR",
                     help=f"libc header directory for headers that include libc ones (<sys/socket.h> ...), "
                          f"searched last, for every arch; default: {LIBC_HELP}."),
        click.option("--base", type=click.Path(dir_okay=False), help="Base BTF for split (module) BTF sources."),
        click.option("--no-cache", is_flag=True, help="Neither read nor write the parse cache."),
    ]
    wrapped: Any = command
    for decorate in reversed(decorators):
        wrapped = decorate(wrapped)
    return wrapped


def report_diagnostics(graphs: list[TypeGraph]) -> None:
    """Print which libc headers sources were read with (a note) and what readers survived (skipped
    headers, parse failures) as warnings, once across arches."""
    libc_arches: dict[tuple[str, str], list[str]] = {}
    for graph in graphs:
        if graph.libc:
            libc_arches.setdefault((graph.source, graph.libc), []).append(graph.target.name)
    for (source, libc), arches in libc_arches.items():
        click.echo(f"abiguard: note: {source}: {', '.join(arches)}: libc headers: {libc}", err=True)
    for (location, message), arches in notes_by_arch(graphs).items():
        where = "" if len(graphs) == 1 else f"{arch_label(arches, len(graphs))}: "
        click.echo(f"abiguard: warning: {location}: {where}{message}", err=True)


def report_missing(missing: Sequence[Missing]) -> None:
    """Warn about the arches that lack the asked-for type."""
    for m in missing:
        click.echo(f"abiguard: warning: {m.arch}: {m.message}", err=True)


def write_output(text: str, path: Path | str | None) -> None:
    """Write `text` to `path` atomically (temp file then rename), or to stdout when no path."""
    if path is None or str(path) == "-":
        click.echo(text, nl=not text.endswith("\n"))
        return
    path = Path(path)
    try:
        atomic_write(path, text if text.endswith("\n") else text + "\n")
    except OSError as e:
        raise AbiguardError(path, f"cannot write: {e.strerror or e}") from None
