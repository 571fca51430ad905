"""C headers (a file or a directory of them) -> one TypeGraph per target, through libclang."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..errors import AbiguardError
from ..model import Target, TypeGraph
from ..model.target import host_target
from . import SourceOptions
from .clang_unit import UnitResult, parse_unit
from .merge import merge_units

__all__ = ["HeaderSet", "UnitResult", "collect_headers", "merge_units", "parse_unit", "read_headers"]

_MAIN_NAME = "__abiguard_headers__.c"


@dataclass(frozen=True)
class HeaderSet:
    """The headers to read, the include path they need, and how the result is labelled."""

    headers: tuple[Path, ...]
    include_dirs: tuple[Path, ...]
    defines: tuple[str, ...]
    label: str


def collect_headers(paths: Sequence[Path], options: SourceOptions) -> HeaderSet:
    """Every header named by `paths` (files as given, `*.h` under directories, sorted) plus include dirs."""
    headers: list[Path] = []
    roots: list[Path] = []
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise AbiguardError(path, "no such file or directory")
        if path.is_dir():
            found = sorted(
                (p for p in path.rglob("*.h") if p.is_file()), key=lambda p: p.relative_to(path).as_posix()
            )
            if not found:
                raise AbiguardError(path, "no *.h headers in this directory")
            headers.extend(p.resolve() for p in found)
            roots.append(path.resolve())
        else:
            headers.append(path.resolve())
            roots.append(path.resolve().parent)
    include_dirs = [*roots, *(Path(d).resolve() for d in options.include_dirs)]
    label = ",".join(str(p) for p in paths)
    return HeaderSet(
        tuple(dict.fromkeys(headers)), tuple(dict.fromkeys(include_dirs)), tuple(options.defines), label
    )


def _main_text(headers: Sequence[Path]) -> str:
    return "".join(f'#include "{h}"\n' for h in headers)


def _parse(hs: HeaderSet, headers: Sequence[Path], target: Target) -> UnitResult:
    main = str(hs.include_dirs[0] / _MAIN_NAME)
    return parse_unit(_main_text(headers), main, hs.include_dirs, target, hs.defines)


def read_target(hs: HeaderSet, target: Target) -> TypeGraph:
    """Parse the header set for one target: one TU for all, isolating headers with errors.

    If the joint TU has errors, the headers they came through are parsed alone and the rest
    together again; if that still fails, every header gets its own TU.
    """
    whole = _parse(hs, hs.headers, target)
    if whole.ok or len(hs.headers) == 1:
        return merge_units([whole], target, hs.label)
    by_path = {str(h): h for h in hs.headers}
    blamed = {whole.entries.get(f, f) for f in whole.error_files}
    bad = [h for h in hs.headers if str(h) in blamed]
    if not bad or not set(blamed) <= set(by_path):
        bad = list(hs.headers)  # errors outside the headers (e.g. a -D): no way to tell who is at fault
    good = [h for h in hs.headers if h not in bad]
    units: list[UnitResult] = []
    if good:
        together = _parse(hs, good, target)
        if together.ok:
            units.append(together)
        else:
            bad = list(hs.headers)
    units.extend(_parse(hs, [h], target) for h in bad)
    return merge_units(units, target, hs.label)


def _read_target_job(hs: HeaderSet, target: Target) -> TypeGraph:
    return read_target(hs, target)


def read_headers(paths: list[Path], targets: Sequence[Target], options: SourceOptions) -> list[TypeGraph]:
    """One TypeGraph per target (host when none), targets parsed in parallel worker processes."""
    hs = collect_headers(paths, options)
    targets = list(targets) or [host_target()]
    workers = min(len(targets), os.cpu_count() or 1)
    if workers <= 1:
        return [read_target(hs, t) for t in targets]
    # spawn: libclang runs parses on its own threads, and forking a threaded process is unsafe.
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        return list(pool.map(_read_target_job, [hs] * len(targets), targets))
