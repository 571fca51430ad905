"""Per-arch parsing of an installed UAPI: chunked TUs in parallel, cached by content, merged per target."""

from __future__ import annotations

import contextlib
import hashlib
import multiprocessing
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ...errors import AbiguardError
from ...fileio import code_digest
from ...model import Target, TypeGraph
from ...model.graph import Diagnostic, HeaderFailure
from ..libc import INSTALL_HINT, LibcHeaders
from . import codec
from .cache import UnitCache, digest
from .install import InstalledHeaders
from .planning import HeaderPlan

UNIT_NAME = "__abiguard_kernel_unit__.c"
_NOT_FOUND = re.compile(r"'([^']+)' file not found")


@dataclass(frozen=True)
class Job:
    """One TU: these installed headers included in order, for one target."""

    target: Target
    roots: tuple[str, ...]
    include_dirs: tuple[Path, ...]  # the staged usr/include first, then the user's -I dirs
    defines: tuple[str, ...]
    skip: frozenset[str] = frozenset()  # installed headers another TU records (HeaderPlan.skips)
    libc: LibcHeaders | None = None  # the target's libc headers, searched last

    @property
    def text(self) -> str:
        return "".join(f"#include <{r}>\n" for r in self.roots)

    @property
    def filename(self) -> str:
        return str(self.include_dirs[0] / UNIT_NAME)


def normal_name(path: str, job: Job) -> str:
    """A read file's name in cache keys: `usr/include/...` for the staged headers (wherever they are
    staged), `<unit>` for the TU itself, else the absolute path."""
    if path == job.filename:
        return "<unit>"
    prefix = str(job.include_dirs[0]) + os.sep
    if path.startswith(prefix):
        return "usr/include/" + path[len(prefix) :]
    return path


def parse_job(job: Job, cache_dir: Path | None, prekey: str) -> tuple[bytes, str | None, tuple[str, ...], str | None]:
    """Worker entry point: parse one TU, store it in the cache from here (in parallel), and hand back
    the result in codec form, which the parent decodes faster than a plain pickle, and why the cache
    could not be written, if it could not (the parent warns, once)."""
    from ..clang.headers import parse_unit

    skip = frozenset(os.path.normpath(os.path.join(os.path.abspath(job.include_dirs[0]), h)) for h in job.skip)
    unit = parse_unit(job.text, job.filename, job.include_dirs, job.target, job.defines, skip_files=skip,
                      libc=job.libc)
    payload = codec.dump_unit(unit)
    key = write_error = None
    files = {normal_name(p, job): h for p, h in unit.files.items()}
    files.pop("<unit>", None)  # the TU's own text is in the prekey already
    if cache_dir is not None:
        ok = unit.ok
        # A failed TU is only read for its errors: its types need not fill the cache.
        kept = payload if ok else codec.dump_unit(replace(unit, types=unit.types[:1], constants={}))
        note = [*_failure(job, unit), *_note(_broken(job, unit))] if not ok and len(job.roots) == 1 else None
        cache = UnitCache(cache_dir, warn=False)
        key = cache.store(prekey, files, kept, ok, note)
        write_error = cache.write_error
    return payload, key, tuple(sorted(files)), write_error


@dataclass
class KernelStats:
    """What a read did; tests use it to see cache behaviour without timing anything."""

    parsed: int = 0  # TUs handed to libclang
    cached: int = 0  # TUs answered by the cache
    corrupt: int = 0  # cache entries found damaged and ignored
    parsed_roots: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # (arch, headers) parsed
    # (arch, headers) -> the files that TU read, as cache keys name them (usr/include/..., absolute paths)
    inputs: dict[tuple[str, tuple[str, ...]], tuple[str, ...]] = field(default_factory=dict)
    merged_roots: dict[str, list[str]] = field(default_factory=dict)  # arch -> headers whose types are in its graph
    # arch -> (headers, UnitResult) of every TU merged, filled only when asked (keep_units): for oracles
    units: dict[str, list[tuple[tuple[str, ...], Any]]] | None = None


def _code_digest() -> str:
    """Hash of the code that produces and encodes a cached TU, so a changed parser never reuses old entries."""
    from ... import model
    from .. import clang, kernel

    return digest(code_digest(clang, kernel, model))


class _Hashes:
    """sha256 of the files a TU may read, under the cache's normalised names."""

    def __init__(self, installed: Mapping[str, str]) -> None:
        self.installed = installed
        self._memo: dict[str, str | None] = {}

    def __call__(self, name: str) -> str | None:
        if name in self._memo:
            return self._memo[name]
        if name.startswith("usr/include/"):
            text = self.installed.get(name[len("usr/include/") :])
            value = None if text is None else hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()
        else:
            try:
                value = hashlib.sha256(Path(name).read_bytes()).hexdigest()
            except OSError:
                value = None
        self._memo[name] = value
        return value


def _split(job: Job, unit: object) -> list[Job]:
    """Smaller jobs after a failed chunk: the headers errors came through alone, else halves."""
    entries: Mapping[str, str] = getattr(unit, "entries", {})
    # The unit's paths are absolute under the directory it was parsed in, which for a cached unit is
    # another ref's staged tree: named relative to that one, the split is the same however it was got.
    prefix = os.path.dirname(os.path.normpath(os.path.abspath(getattr(unit, "filename", job.filename)))) + os.sep
    culprits = set()
    for f in getattr(unit, "error_files", ()):
        for name in (entries.get(f, ""), f):  # the header that brought it in, and the file itself
            if name.startswith(prefix):
                culprits.add(name[len(prefix) :])
    culprits &= set(job.roots)
    if culprits and len(culprits) < len(job.roots):
        rest = tuple(r for r in job.roots if r not in culprits)
        return [replace(job, roots=(c,)) for c in sorted(culprits)] + [replace(job, roots=rest)]
    half = len(job.roots) // 2
    return [replace(job, roots=job.roots[:half]), replace(job, roots=job.roots[half:])]


def _failure(job: Job, unit: object) -> tuple[str, str]:
    """(header, why) for a header that does not compile on its own for this target; a missing libc
    header is named as `<name>` so headers failing for the same reason can share one line."""
    diags: Sequence[Diagnostic] = getattr(unit, "diagnostics", ())
    first = diags[0] if diags else Diagnostic(job.roots[0], "unknown error")
    m = _NOT_FOUND.search(first.message)
    return job.roots[0], f"<{m.group(1)}>" if m else f"does not compile: {first}"


def _broken(job: Job, unit: object) -> HeaderFailure:
    """What the graph records of a header that does not compile on its own: the first error, and the
    headers the failed parse read that no other TU records (job.skip), whose declarations it hides."""
    diags: Sequence[Diagnostic] = getattr(unit, "diagnostics", ())
    first = diags[0] if diags else Diagnostic(job.roots[0], "unknown error")
    prefix = os.path.dirname(os.path.normpath(os.path.abspath(getattr(unit, "filename", job.filename)))) + os.sep
    read = (name[len(prefix) :] for name in getattr(unit, "files", {}) if name.startswith(prefix))
    hides = {job.roots[0], *(h for h in read if h not in job.skip and h != UNIT_NAME)}
    return HeaderFailure(job.roots[0], first.location, first.message.removeprefix(f"{job.target.name}: "),
                         tuple(sorted(hides)))


def _note(failure: HeaderFailure) -> list[str]:
    """A HeaderFailure as the strings a cache note holds (after the header and the reason)."""
    return [failure.where, failure.message, *failure.hides]


def _from_note(note: Sequence[str]) -> HeaderFailure:
    """The HeaderFailure a cache note holds ([header, why, where, message, *hides])."""
    if len(note) < 4:
        return HeaderFailure(note[0], note[0], note[1], (note[0],))
    return HeaderFailure(note[0], note[2], note[3], tuple(note[4:]))


def _planned_failure(header: str, why: str) -> HeaderFailure:
    """A header the plan leaves out because it includes a header no include directory provides."""
    return HeaderFailure(header, header, f"includes {why}, which no include directory provides", (header,))


def skip_diagnostics(label: str, target: Target, installed: InstalledHeaders,
                     failures: Sequence[tuple[str, str]], libc: LibcHeaders | None = None) -> list[Diagnostic]:
    """The headers left out for one target, one line per reason, every header named; without libc
    headers, the ones that need them are one line."""
    out = []
    listed = sorted(h for h in installed.no_test if not h.startswith("asm-generic/"))
    if listed:
        out.append(Diagnostic(label, f"{target.name}: {len(listed)} headers not parsed on their own, "
                              f"usr/include/Makefile lists them in no-header-test (they do not compile in "
                              f"userspace): {', '.join(listed)}"))
    by_reason: dict[str, list[str]] = {}
    for header, why in failures:
        by_reason.setdefault(why, []).append(header)
    wanting = {why: headers for why, headers in by_reason.items() if why.startswith("<")}
    if libc is None and wanting:
        count = sum(len(headers) for headers in wanting.values())
        listed = "; ".join(f"{why}: {', '.join(sorted(headers))}" for why, headers in sorted(wanting.items()))
        out.append(Diagnostic(label, f"{target.name}: {count} headers skipped, they include libc headers and none "
                              f"were found ({INSTALL_HINT}): {listed}"))
    for why, headers in sorted(by_reason.items()):
        names = ", ".join(sorted(headers))
        if why in wanting:
            if libc is None:
                continue
            msg = (f"{target.name}: {len(headers)} headers skipped, they include {why}, which neither the UAPI "
                   f"nor the libc headers provide ({libc.description}): {names}")
        else:
            msg = f"{target.name}: skipped {names}: {why}"
        out.append(Diagnostic(label, msg))
    return out


@dataclass
class _Plan:
    target: Target
    installed: InstalledHeaders
    hashes: _Hashes
    libc: LibcHeaders | None
    keys: dict[tuple[str, ...], str] = field(default_factory=dict)  # ok TUs: headers -> cache key
    units: dict[tuple[str, ...], object] = field(default_factory=dict)  # ok TUs already in memory
    jobs: dict[tuple[str, ...], Job] = field(default_factory=dict)
    failures: list[tuple[str, str]] = field(default_factory=list)
    broken: list[HeaderFailure] = field(default_factory=list)  # the same headers, as the graph records them


Prepared = tuple[InstalledHeaders, Path, HeaderPlan]  # installed headers, their staged dir, the plan


def parse_installed(
    plans: Sequence[tuple[Target, LibcHeaders | None, Callable[[], Prepared]]],
    defines: Sequence[str],
    user_dirs: Sequence[Path],
    cache: UnitCache | None,
    label: str,
    progress: bool,
    stats: KernelStats,
) -> list[TypeGraph]:
    """One TypeGraph per target, parsing what the cache lacks.

    Each target comes with its libc headers (None: there are none) and a function that installs,
    plans and stages its headers: it is called when the workers are about to run out of jobs, so
    that work overlaps with their parsing.
    """
    code = _code_digest()
    state: dict[int, _Plan] = {}
    waiting = list(enumerate(plans))

    def feed() -> list[tuple[int, Job]] | None:
        """The jobs of the next target; None when every target has been fed."""
        if not waiting:
            return None
        i, (target, libc, prepare) = waiting.pop(0)
        inst, staged, plan = prepare()
        state[i] = _Plan(target, inst, _Hashes(inst.headers), libc, failures=list(plan.failures),
                         broken=[_planned_failure(h, why) for h, why in plan.failures])
        return [(i, Job(target, chunk, (staged, *user_dirs), tuple(defines), skip, libc))
                for chunk, skip in zip(plan.chunks, plan.skips, strict=True)]

    with contextlib.ExitStack() as stack:
        bar = None
        if progress:
            from rich.console import Console
            from rich.progress import Progress

            bar = stack.enter_context(Progress(console=Console(stderr=True), transient=True))
        runner = _Runner(code, cache, state, stats, stack, bar, label)
        runner.run([], use_cache=True, feed=feed)
        # Targets with no job at all (nothing to parse) are merged here; the rest already were.
        graphs = [runner.graphs[i] if i in runner.graphs else runner.graph(i, label) for i in sorted(state)]
    if cache is not None:
        stats.corrupt = cache.corrupt
    return graphs


class _Runner:
    """Drives the TUs of every target through the cache and a process pool, splitting failed chunks."""

    def __init__(self, code: str, cache: UnitCache | None, state: dict[int, _Plan], stats: KernelStats,
                 stack: contextlib.ExitStack, bar: Any, label: str) -> None:
        self.code, self.cache, self.state, self.stats, self.stack, self.bar = code, cache, state, stats, stack, bar
        self.pool: ProcessPoolExecutor | None = None
        self.task = bar.add_task(f"parsing {label}", total=0) if bar is not None else None
        self.label = label
        self.open: dict[int, int] = dict.fromkeys(state, 0)  # jobs of each target not yet answered
        self.graphs: dict[int, TypeGraph] = {}
        self.merging: set[int] = set()  # a merge that re-parses a vanished unit must not recurse

    def _opened(self, jobs: Iterable[tuple[int, Job]]) -> None:
        for i, _ in jobs:
            self.open[i] = self.open.get(i, 0) + 1

    def _closed(self, i: int) -> None:
        """One job of target i answered; when it was the last, merge that target now, while the
        workers go on parsing the other targets (the merge would otherwise wait for all of them)."""
        self.open[i] -= 1
        if self.open[i] == 0 and i not in self.graphs and i not in self.merging:
            self.graphs[i] = self.graph(i, self.label)

    def prekey(self, job: Job) -> str:
        libc = () if job.libc is None else (*(str(d) for d in job.libc.dirs), "\0", *job.libc.defines)
        return digest("kernel-unit", self.code, job.target.name, job.target.triple, *job.defines, "\0",
                      *(str(d) for d in job.include_dirs[1:]), "\0", job.text, "\0", *sorted(job.skip), "\0",
                      *libc)

    def _grow(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task, total=self.bar.tasks[0].total + n)

    def _finish(self, i: int, job: Job, unit: object | None, key: str | None, todo: list[tuple[int, Job]]) -> None:
        plan = self.state[i]
        plan.jobs[job.roots] = job
        if unit is None or getattr(unit, "ok", False):
            if key is not None:
                plan.keys[job.roots] = key
            if unit is not None:
                plan.units[job.roots] = unit
        elif len(job.roots) == 1:
            self._failed(i, job, _failure(job, unit), _broken(job, unit))
            return
        else:
            more = _split(job, unit)
            todo[:0] = [(i, j) for j in more]  # first in line: its target can then be merged early
            self._opened((i, j) for j in more)
            self._grow(len(more))
        if self.bar is not None:
            self.bar.advance(self.task)
        self._closed(i)

    def _failed(self, i: int, job: Job, failure: tuple[str, str], broken: HeaderFailure) -> None:
        self.state[i].jobs[job.roots] = job
        self.state[i].failures.append(failure)
        self.state[i].broken.append(broken)
        if self.bar is not None:
            self.bar.advance(self.task)
        self._closed(i)

    def run(self, todo: list[tuple[int, Job]], use_cache: bool,
            feed: Callable[[], list[tuple[int, Job]] | None] | None = None) -> None:
        """Answer every job from the cache (ok results stay on disk until needed) or by parsing it;
        `feed` hands over the next target's jobs (None when there are no more)."""
        self._grow(len(todo))
        self._opened(todo)
        running: dict[Future[object], tuple[int, Job]] = {}
        # Jobs in flight are taken in target order: targets finish one after the other and each is
        # merged while the workers parse the next. Enough of them that the workers stay busy while
        # this process merges a target or prepares the next arch (a TU takes ~0.1 s, a merge ~0.3 s).
        limit = 6 * (os.cpu_count() or 1)
        while True:
            while feed is not None and len(todo) < limit:
                more = feed()
                if more is None:
                    feed = None
                    break
                self._grow(len(more))
                self._opened(more)
                todo.extend(more)
            if not todo and not running:
                break
            while todo and len(running) < limit:
                i, job = todo.pop(0)
                if self.cache is not None and use_cache:
                    found = self.cache.find(self.prekey(job), self.state[i].hashes)
                    if found is not None:
                        key, ok, read, note = found
                        self.stats.inputs[(job.target.name, job.roots)] = read
                        if not ok and note is not None and len(job.roots) == 1:
                            self.stats.cached += 1
                            self._failed(i, job, (note[0], note[1]), _from_note(note))
                            continue
                        unit = None if ok else self.cache.load(key)
                        if ok or unit is not None:
                            self.stats.cached += 1
                            self._finish(i, job, unit, key, todo)
                            continue
                if self.pool is None:
                    # spawn: this process may already run libclang threads (another source read
                    # first) or rich's refresh thread, and forking a threaded process is unsafe.
                    ctx = multiprocessing.get_context("spawn")
                    workers = os.cpu_count() or 1
                    self.pool = self.stack.enter_context(ProcessPoolExecutor(max_workers=workers, mp_context=ctx))
                self.stats.parsed += 1
                self.stats.parsed_roots.append((job.target.name, job.roots))
                cache_dir = self.cache.root if self.cache is not None and self.cache.writable else None
                running[self.pool.submit(parse_job, job, cache_dir, self.prekey(job))] = (i, job)
            if not running:
                continue  # all answered by the cache: the next target, if any
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in sorted(done, key=lambda f: running[f][1].roots):
                i, job = running.pop(fut)
                try:
                    payload, key, read, write_error = fut.result()
                except BrokenProcessPool:
                    raise AbiguardError(job.roots[0], f"{job.target.name}: the parser process died "
                                        "(out of memory, or a crash in libclang)") from None
                if write_error is not None and self.cache is not None:
                    self.cache.stop_writing(write_error)
                self.stats.inputs[(job.target.name, job.roots)] = read
                self._finish(i, job, codec.load(payload), key, todo)

    def graph(self, i: int, label: str) -> TypeGraph:
        """The merged graph of one target: from the cache when the same TUs were merged before."""
        from ..clang.headers import merge_units

        self.merging.add(i)
        plan = self.state[i]
        order = sorted(plan.jobs.keys() & (plan.keys.keys() | plan.units.keys()))
        gkey = None
        graph: TypeGraph | None = None
        if self.cache is not None and self.stats.units is None and all(k in plan.keys for k in order):
            gkey = digest("kernel-graph", self.code, plan.target.name, label, *(plan.keys[k] for k in order))
            loaded = self.cache.load(gkey)
            graph = loaded if isinstance(loaded, TypeGraph) else None
        if graph is None:
            missing = [k for k in order if k not in plan.units]
            for k in missing:
                unit = self.cache.load(plan.keys[k]) if self.cache is not None else None
                if unit is None:  # vanished or damaged since it was found: parse it again
                    self.run([(i, plan.jobs[k])], use_cache=False)
                else:
                    plan.units[k] = unit
            units = [plan.units[k] for k in sorted(plan.units)]
            if self.stats.units is not None:
                self.stats.units[plan.target.name] = [(k, plan.units[k]) for k in sorted(plan.units)]
            graph = merge_units(units, plan.target, label)  # type: ignore[arg-type]
            if gkey is not None and self.cache is not None:
                self.cache.put(gkey, codec.dump_graph(graph))
        self.stats.merged_roots[plan.target.name] = sorted(h for k in order for h in k)
        skipped = skip_diagnostics(label, plan.target, plan.installed, plan.failures, plan.libc)
        diagnostics = [*plan.installed.diagnostics, *skipped, *graph.diagnostics]
        failures = tuple(sorted(plan.broken, key=lambda f: f.header))
        return replace(graph, diagnostics=tuple(dict.fromkeys(diagnostics)), failures=failures,
                       libc=plan.libc.description if plan.libc is not None else "")
