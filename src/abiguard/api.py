"""The public Python API: what each CLI command does, as functions returning typed, frozen results.

Sources are what the CLI takes: a BTF file, an ELF object, a C header or directory, `kernel:PATH[@REF]`,
a snapshot file, or None for the running kernel's BTF. `arch` is a name, a comma list, `all`, or a list.
Errors are AbiguardError (UnknownName for an arch, type or format abiguard does not know).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import AbiguardError
from .model import TypeGraph, parse_arch_list
from .sources import SourceOptions, load_source

if TYPE_CHECKING:
    from .bpf.run import CoreResult
    from .compare.findings import DiffResult, Finding, Severity
    from .report.layout import Layout
    from .report.users import UsersResult

Arch = str | Sequence[str] | None
Source = str | Path | None


@dataclass(frozen=True)
class ReadOptions:
    """How sources are read: include dirs and defines (headers), the base of split BTF, the cache."""

    include: tuple[str | Path, ...] = ()
    define: tuple[str, ...] = ()
    base: str | Path | None = None
    use_cache: bool = True
    progress: bool = False  # draw a progress bar on stderr while a kernel tree parses
    libc_include: tuple[str | Path, ...] = ()  # libc header dirs; none: the ziglang wheel's (abiguard[libc])

    def source_options(self) -> SourceOptions:
        return SourceOptions(
            include_dirs=tuple(Path(d) for d in self.include),
            libc_include=tuple(Path(d) for d in self.libc_include),
            defines=tuple(self.define),
            base=Path(self.base) if self.base is not None else None,
            use_cache=self.use_cache,
            progress=self.progress,
        )


def load(source: Source = None, arch: Arch = None, options: ReadOptions | None = None) -> list[TypeGraph]:
    """One TypeGraph per requested arch (a BTF source carries its own, single arch)."""
    targets = parse_arch_list(arch)
    spec = None if source is None else str(source)
    graphs = load_source(spec, targets, (options or ReadOptions()).source_options())
    if not graphs:
        raise AbiguardError(spec or "source", "no architecture to read")
    return graphs


@dataclass(frozen=True)
class DiffReport:
    """What `diff` found: a verdict, findings (one per change per arch), and the readers' notes."""

    verdict: Severity
    arches: tuple[str, ...]
    findings: tuple[Finding, ...]
    notes: tuple[str, ...]  # headers that did not parse, arches only one side has, expired waivers
    result: DiffResult = field(repr=False, compare=False)  # what the renderers take

    def breaks(self, fail_on: str | Severity = "breaking") -> bool:
        """Is anything (not waived) at `fail_on` severity or worse? (`abiguard diff`'s exit code 1)"""
        from .compare.findings import Severity

        threshold = fail_on if isinstance(fail_on, Severity) else Severity.parse(fail_on)
        return self.verdict >= threshold

    def to_json(self) -> dict[str, Any]:
        """The public JSON form, as `abiguard diff --format json` prints it."""
        return self.result.to_json()

    def render(self, fmt: str = "text", color: bool = False, fail_on: str = "breaking") -> str:
        """The report as text, json, markdown, sarif, html or junit (whose cases fail at `fail_on`)."""
        from .report import render_diff

        return render_diff(self.result, fmt, color, fail_on)


def diff(
    old: Source,
    new: Source,
    arch: Arch = None,
    waivers: str | Path | None = None,
    types: Sequence[str] = (),
    options: ReadOptions | None = None,
    today: dt.date | None = None,
) -> DiffReport:
    """Compare OLD with NEW on every requested arch; `types` limits it to those types (and what they
    reach); `waivers` is a TOML file of waived findings, judged expired against `today`."""
    from .compare import run_diff
    from .compare.waivers import load_waivers

    # The waivers first: a bad waiver file should fail before minutes of parsing.
    loaded = load_waivers(Path(waivers), today or dt.date.today()) if waivers is not None else None
    old_graphs = load(old, arch, options)
    new_graphs = load(new, arch, options)
    result = run_diff(old_graphs, new_graphs, roots=tuple(types), waivers=loaded)
    return DiffReport(result.verdict, tuple(result.arches), tuple(result.findings), tuple(result.errors), result)


@dataclass(frozen=True)
class Missing:
    """An arch whose graph lacks the asked-for type (an #ifdef'd struct)."""

    arch: str
    message: str


def _resolve_everywhere(graphs: Sequence[TypeGraph], type_name: str) -> tuple[list[tuple[TypeGraph, int]],
                                                                              tuple[Missing, ...]]:
    """TYPE in every graph that has it, and the arches lacking it; found nowhere (or ambiguous
    anywhere) is one error, raised before anything is built."""
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
    return found, tuple(Missing(g.target.name, e.message) for g, e in missing)


@dataclass(frozen=True)
class LayoutReport:
    """One type's layout on every arch that has it."""

    layouts: tuple[Layout, ...]
    missing: tuple[Missing, ...]
    graphs: tuple[TypeGraph, ...] = field(repr=False, compare=False)  # every arch read, for its notes

    def render(self, fmt: str = "text") -> str:
        """pahole-style text (one block per arch) or JSON (one object, a list for several arches)."""
        from .report.layout import render_layouts

        by_arch = {g.target.name: g for g in self.graphs}
        return render_layouts([(by_arch[lay.arch], lay) for lay in self.layouts], fmt)


def layout(type_name: str, source: Source = None, arch: Arch = None, expand: bool = False,
           options: ReadOptions | None = None) -> LayoutReport:
    """Offsets, sizes, holes and padding of `type_name` (`struct foo`, `foo`, a typedef) per arch;
    `expand` shows embedded structs and unions inline."""
    from .report.layout import build_layout

    graphs = load(source, arch, options)
    found, missing = _resolve_everywhere(graphs, type_name)
    layouts = tuple(build_layout(g, tid, expand) for g, tid in found)
    return LayoutReport(layouts, missing, tuple(graphs))


@dataclass(frozen=True)
class UsersReport:
    """Per arch: the types embedding one type by value (with the member path) and those only pointing at it."""

    results: tuple[UsersResult, ...]
    missing: tuple[Missing, ...]
    graphs: tuple[TypeGraph, ...] = field(repr=False, compare=False)

    def render(self, fmt: str = "text") -> str:
        from .report.users import render_users

        return render_users(self.results, fmt)


def users(type_name: str, source: Source = None, arch: Arch = None,
          options: ReadOptions | None = None) -> UsersReport:
    """Every type embedding `type_name` by value (transitively), and those reaching it through one pointer."""
    from .report.users import find_users
    from .sources.btf.refs import containment_for

    graphs = load(source, arch, options)
    found, missing = _resolve_everywhere(graphs, type_name)
    results = tuple(find_users(g, tid, containment_for(g)) for g, tid in found)
    return UsersReport(results, missing, tuple(graphs))


def check_core(objects: Sequence[str | Path], kernels: Sequence[str | Path] = (), base: str | Path | None = None,
               use_cache: bool = True, load_checks: bool = True, fleet: str | Path | None = None,
               select: str | None = None) -> CoreResult:
    """Will each BPF object load on each kernel (BTF files, directories, BTFHub archives, shipped kernels; the
    running kernel when none), or on each kernel of a `fleet` index that `select` (`arch=x86_64,...`) matches?
    CO-RE relocations as libbpf resolves them and, with `load_checks`, what the verifier would check from BTF."""
    if fleet is not None:
        if kernels or base is not None:
            raise AbiguardError(str(fleet), "a fleet index replaces the kernels and their base: give one or the other")
        from .bpf.fleet.query import check_core_fleet, parse_select

        return check_core_fleet(objects, Path(fleet), parse_select(select), load_checks)
    if select is not None:
        raise AbiguardError("select", "a kernel selection picks kernels of a fleet index: give the index too")
    from .bpf.run import check_core as run

    return run(objects, kernels, Path(base) if base is not None else None, use_cache=use_cache,
               load_checks=load_checks)
