"""C headers (a file or a directory of them) -> one TypeGraph per target, through libclang."""

from __future__ import annotations

import multiprocessing
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from ...errors import AbiguardError
from ...model import HeaderFailure, Target, TypeGraph
from ...model.target import host_target
from ..libc import LibcHeaders, libc_for
from ..options import SourceOptions
from .libclang import BUILTIN_INCLUDE
from .merge import merge_units
from .unit import UnitResult, parse_unit

__all__ = ["HeaderSet", "UnitResult", "collect_headers", "merge_units", "parse_unit", "read_headers"]

_MAIN_NAME = "__abiguard_headers__.c"


@dataclass(frozen=True)
class HeaderSet:
    """The headers to read, the include path they need, and how the result is labelled."""

    headers: tuple[Path, ...]
    include_dirs: tuple[Path, ...]
    defines: tuple[str, ...]
    label: str
    libc_include: tuple[Path, ...] = ()  # libc header directories given; none: the ziglang wheel's


def collect_headers(paths: Sequence[Path], options: SourceOptions) -> HeaderSet:
    """Every header named by `paths` (files as given, `*.h` under directories, sorted) plus include dirs."""
    headers: list[Path] = []
    roots: list[Path] = []
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise AbiguardError(path, "no such file or directory")
        if path.is_dir():
            root = path.resolve()
            # Hidden directories (.git, quilt's .pc with old copies of patched headers) are not the source.
            try:
                found = sorted(
                    p.relative_to(path).as_posix()
                    for p in path.rglob("*.h")
                    if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
                )
            except OSError as e:
                raise AbiguardError(path, f"cannot list headers: {e.strerror or e}") from None
            if not found:
                raise AbiguardError(path, "no *.h headers in this directory")
            # Named under the root even when symlinked, so locations stay relative to it.
            headers.extend(root / rel for rel in found)
            roots.append(root)
        else:
            headers.append(path.resolve())
            roots.append(path.resolve().parent)
    include_dirs = [*roots, *(Path(d).resolve() for d in options.include_dirs)]
    for d in options.libc_include:
        if not Path(d).is_dir():  # said before any parse, not from a worker
            raise AbiguardError(Path(d), "no such directory (--libc-include)")
    label = ",".join(str(p) for p in paths)
    return HeaderSet(
        tuple(dict.fromkeys(headers)), tuple(dict.fromkeys(include_dirs)), tuple(options.defines), label,
        tuple(options.libc_include),
    )


def _main_text(headers: Sequence[Path]) -> str:
    return "".join(f'#include "{h}"\n' for h in headers)


def _parse(hs: HeaderSet, headers: Sequence[Path], target: Target, libc: LibcHeaders | None) -> UnitResult:
    main = str(hs.include_dirs[0] / _MAIN_NAME)
    return parse_unit(_main_text(headers), main, hs.include_dirs, target, hs.defines, libc=libc)


_INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*[<"]([^>"]+)[>"]', re.M)


def _includes(files: Iterable[str], include_dirs: Sequence[Path]) -> dict[str, set[str]]:
    """Which of `files` each one #includes, read from their text (ignoring #if: an over-estimate)."""
    known = set(files)
    dirs = [str(d) for d in include_dirs] + [str(BUILTIN_INCLUDE)]
    edges: dict[str, set[str]] = {}
    for name in known:
        try:
            text = Path(name).read_text(errors="replace")
        except OSError:
            continue
        found = set()
        for inc in _INCLUDE.findall(text):
            for base in (os.path.dirname(name), *dirs):
                candidate = os.path.normpath(os.path.join(base, inc))
                if candidate in known:
                    found.add(candidate)
                    break
        edges[name] = found
    return edges


def _reachable_errors(header: str, edges: Mapping[str, set[str]], errors: set[str]) -> frozenset[str]:
    seen, todo = {header}, [header]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return frozenset(seen & errors)


def read_target(hs: HeaderSet, target: Target) -> TypeGraph:
    """Parse the header set for one target: one TU for all, isolating headers with errors.

    A header that fails could derail the parse of the ones after it (an unclosed brace), and some
    errors only come from parsing headers together (no include guard), so when a joint TU has
    errors, every header that includes (transitively, by its text) a file with errors is parsed
    alone, and the rest together again; a few rounds, then whatever is left goes one by one.
    """
    units: list[UnitResult] = []
    alone: list[tuple[Path, UnitResult]] = []  # headers parsed on their own, to tell which fail
    pending = list(hs.headers)
    libc = libc_for(target, hs.libc_include)
    for _round in range(3):
        unit = _parse(hs, pending, target, libc)
        # No file to blame (e.g. a bad -D): every TU would say the same, so one is enough.
        if unit.ok or len(pending) == 1 or not unit.error_files:
            units.append(unit)
            if len(pending) == 1:
                alone.append((pending[0], unit))
            pending = []
            break
        errors = set(unit.error_files)
        edges = _includes(unit.files, hs.include_dirs)
        tainted = [h for h in pending if _reachable_errors(str(h), edges, errors)]
        if not tainted:
            break  # errors outside the headers (e.g. from a -D): nothing to single out
        alone += [(h, _parse(hs, [h], target, libc)) for h in tainted]
        pending = [h for h in pending if h not in tainted]
        if not pending:
            break
    alone += [(h, _parse(hs, [h], target, libc)) for h in pending]
    units += [unit for _, unit in alone]
    graph = merge_units(units, target, hs.label)
    graph = replace(graph, failures=tuple(_failure(hs, h, u) for h, u in alone if u.error_files))
    # Named only when a header used the libc: a header set that needs none reads as it always did.
    return replace(graph, libc=libc.description) if libc is not None and any(u.libc for u in units) else graph


def _shown(path: str, include_dirs: Sequence[Path]) -> str:
    """A file's name as locations give it: relative to the first include directory holding it."""
    for d in include_dirs:
        if path.startswith(str(d) + os.sep):
            return path[len(str(d)) + 1 :]
    return path


def _failure(hs: HeaderSet, header: Path, unit: UnitResult) -> HeaderFailure:
    """A header that does not compile on its own: the first error, and the files it is in (whose
    declarations the front end may have dropped) with the header itself."""
    first = unit.diagnostics[0]
    hides = {_shown(str(header), hs.include_dirs), *(_shown(f, hs.include_dirs) for f in unit.error_files)}
    return HeaderFailure(_shown(str(header), hs.include_dirs), first.location,
                         first.message.removeprefix(f"{unit.target.name}: "), tuple(sorted(hides)))


def _read_target_job(hs: HeaderSet, target: Target) -> TypeGraph:
    return read_target(hs, target)


def read_headers(
    paths: list[Path], targets: Sequence[Target], options: SourceOptions | None = None
) -> list[TypeGraph]:
    """One TypeGraph per target (host when none), targets parsed in parallel worker processes."""
    hs = collect_headers(paths, options or SourceOptions())
    targets = list(targets) or [host_target()]
    if len(targets) == 1 or (os.cpu_count() or 1) == 1:
        return [read_target(hs, t) for t in targets]
    # spawn: libclang runs parses on its own threads, and forking a threaded process is unsafe.
    # This process works too, taking targets no worker has started: it has no start-up to pay,
    # and a spawned worker needs a moment to import everything.
    ctx = multiprocessing.get_context("spawn")
    workers = max(1, min(len(targets) - 1, (os.cpu_count() or 1) - 1))
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures = [pool.submit(_read_target_job, hs, t) for t in targets]
        done: dict[int, TypeGraph] = {}
        for i in reversed(range(len(targets))):
            if futures[i].cancel():
                done[i] = read_target(hs, targets[i])
        return [done[i] if i in done else futures[i].result() for i in range(len(targets))]
