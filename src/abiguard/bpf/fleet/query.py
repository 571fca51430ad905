"""`core --fleet`: the verdicts `--kernel` gives, with each relocation resolved once per distinct candidate set.

libbpf resolves the relocations of one local type against one candidate list, pruned as they match, so
all of them are a function of the candidates' records (their hashes cover everything matching reads).
Kernels whose candidate records are the same share one resolution; only the candidate ids, which
reports print, are put back per kernel. Ids are part of the key where a TYPE_ID_TARGET value carries them.
"""

from __future__ import annotations

import copy
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import AbiguardError, UnknownName
from ...model import ENUM_KINDS, Enumerator, IntEncoding, Kind, Member, Param, SecVar, Type, TypeGraph
from ...model.target import TARGETS
from ...model.types import VOID
from ...sources.shipped.ident import KernelIdentity
from ..btf_ext import CoreRelo, ExtSection, ReloKind
from ..candidates import TargetKernel
from ..check import Verdict, live_poisoned
from ..compat import essential_name
from ..findings import LoadFinding
from ..load import load_findings, ref_names
from ..objfile import BpfObject, read_object
from ..resolve import ReloResult, ResolveContext, Status, resolve_relo
from ..run import CoreResult, name_refs
from .format import FleetFile, StoredRecord, open_fleet
from .modviews import FleetModules, OwnTypes, strings_with_essential

SELECT_KEYS = ("name", "distro", "arch", "release", "flavour", "target")


def parse_select(spec: str | None) -> dict[str, str]:
    """`distro=ubuntu,arch=x86_64` -> {"distro": "ubuntu", "arch": "x86_64"}; unknown keys are an error."""
    out: dict[str, str] = {}
    for part in (spec or "").split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in SELECT_KEYS:
            raise UnknownName("kernel selection",
                              f"'{part}' is not KEY=VALUE with KEY one of {', '.join(SELECT_KEYS)}")
        out[key] = value.strip()
    return out


def _selected(metas: list[dict[str, object]], select: dict[str, str]) -> list[int]:
    """Indexes of the kernels whose metadata match every glob of the selection."""
    import re
    from fnmatch import translate

    tests = [(key, re.compile(translate(glob)).match) for key, glob in select.items()]
    return [i for i, m in enumerate(metas) if all(test(str(m.get(key, ""))) for key, test in tests)]


Query = tuple[str, str]  # ("name", "task_struct") or ("anon", "")


class Lookups:
    """Name look-ups answered for every selected kernel at once, as records in each kernel's id order."""

    def __init__(self, fleet: FleetFile, selected: set[int]) -> None:
        self.fleet = fleet
        self.selected = selected
        self._answers: dict[Query, dict[int, tuple[int, ...]]] = {}

    def answers(self, query: Query) -> dict[int, tuple[int, ...]]:
        got = self._answers.get(query)
        if got is None:
            what, name = query
            if what == "anon":
                found = [r for r, kind in self.fleet.records_named(0) if kind in ENUM_KINDS]
            else:
                strings = self.fleet.strings
                i = bisect_left(strings, name)
                held = bool(name) and i < len(strings) and strings[i] == name
                found = [r for r, _ in self.fleet.records_named(i)] if held else []
            per: dict[int, list[tuple[int, int]]] = {}
            selected = self.selected
            for rec in found:
                for k, tid in zip(*self.fleet.posting_columns(rec), strict=True):
                    if k in selected:
                        per.setdefault(k, []).append((tid, rec))
            got = self._answers[query] = {
                k: (v[0][1],) if len(v) == 1 else tuple(rec for _, rec in sorted(v)) for k, v in per.items()
            }
        return got


class VirtualTypes(Sequence[Type]):
    """One kernel's types seen through the index. Named types (and enums) have the kernel's own ids,
    from the postings; anonymous types they reach are numbered from `first` on (record index + first),
    where no kernel id can be. Every look-up can be recorded as records, not ids (`trace`), so checks
    whose answers are the same records on another kernel need not run again."""

    def __init__(
        self, fleet: FleetFile, kernel: int, first: int, lookups: Lookups, own: OwnTypes | None = None
    ) -> None:
        self.fleet = fleet
        self.lookups = lookups
        self.own = own  # a module's own types on top of the kernel's (split BTF), or None
        self.kernel = kernel
        self.first = first
        self.real: dict[int, int] = {}  # kernel type id -> record index
        self._memo: dict[int, Type] = {}
        self._count = first + fleet.record_count
        self.trace: list[tuple[Query, tuple[int, ...]]] | None = None

    def ids_of(self, rec: int) -> list[int]:
        """This kernel's ids of a record (none for records it does not hold under a name)."""
        kernels, ids = self.fleet.posting_columns(rec)
        lo = bisect_left(kernels, self.kernel)
        out = ids[lo : bisect_right(kernels, self.kernel, lo)]
        if self.own is not None:
            out = [*out, *self.own.ids_of(rec)]
        for tid in out:
            self.real.setdefault(tid, rec)
        return out

    def _posted(self, recs: list[int]) -> list[tuple[int, int]]:
        return sorted((tid, rec) for rec in recs for tid in self.ids_of(rec))

    def answer(self, query: Query) -> tuple[int, ...]:
        """The records (in id order) a name look-up finds: `("name", "task_struct")`, `("anon", "")`."""
        return self.lookups.answers(query).get(self.kernel, ())

    def _look(self, query: Query) -> list[int]:
        recs = self.answer(query)
        if self.own is not None:
            recs += self.own.records(query)
        if self.trace is not None:
            self.trace.append((query, recs))
        return [tid for tid, _ in self._posted(list(dict.fromkeys(recs)))]

    def ids_named(self, name: str) -> list[int]:
        return self._look(("name", name))

    def anonymous_enum_ids(self) -> list[int]:
        """Ids of the kernel's anonymous enums (UAPI flag sets), without walking every id."""
        return self._look(("anon", ""))

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: int) -> Type:  # type: ignore[override]
        t = self._memo.get(index)
        if t is not None:
            return t
        if index == 0:
            return VOID
        rec = self.real.get(index)
        if rec is None:
            if not self.first <= index < self._count:
                raise IndexError(index)
            rec = index - self.first
        t = self._memo[index] = self._decode(self.fleet.record(rec))
        return t

    def _ref(self, r: int) -> int:
        if not r:
            return 0
        ids = self.ids_of(r - 1)
        return ids[0] if ids else self.first + r - 1

    def _decode(self, r: StoredRecord) -> Type:
        s = self.fleet.strings
        k = Kind(r.kind)
        name = s[r.name]
        if r.weak and k not in (Kind.TYPEDEF, Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG,
                                Kind.ARRAY, Kind.FUNC_PROTO):
            return Type(k, name, kind_flag=r.kind_flag)  # behind a pointer: kind and name only
        refs = [self._ref(x) for x in r.refs]
        ints = r.ints
        if k == Kind.INT:
            return Type(k, name, size=ints[0], encoding=IntEncoding(ints[1]), int_offset=ints[2], int_bits=ints[3])
        if k == Kind.FLOAT:
            return Type(k, name, size=ints[0])
        if k in (Kind.STRUCT, Kind.UNION):
            members = tuple(
                Member(s[n], refs[i], ints[1 + 2 * i], ints[2 + 2 * i]) for i, n in enumerate(r.names)
            )
            return Type(k, name, size=ints[0], members=members, kind_flag=r.kind_flag)
        if k in ENUM_KINDS:
            values = tuple(Enumerator(s[n], ints[2 + i]) for i, n in enumerate(r.names))
            return Type(k, name, size=ints[0], enumerators=values, signed=bool(ints[1]), kind_flag=r.kind_flag)
        if k == Kind.ARRAY:
            return Type(k, name, ref=refs[0], index_type=refs[1], nelems=ints[0])
        if k == Kind.FUNC_PROTO:
            params = tuple(Param(s[n], refs[1 + i]) for i, n in enumerate(r.names))
            return Type(k, name, ref=refs[0], params=params)
        if k in (Kind.FUNC, Kind.VAR):
            return Type(k, name, ref=refs[0], linkage=ints[0])
        if k == Kind.DATASEC:
            vars_ = tuple(SecVar(refs[i], ints[1 + 2 * i], ints[2 + 2 * i]) for i in range(len(refs)))
            return Type(k, name, size=ints[0], vars=vars_)
        if k == Kind.DECL_TAG:
            return Type(k, name, ref=refs[0], component_idx=ints[0], kind_flag=r.kind_flag)
        if refs:
            return Type(k, name, ref=refs[0], kind_flag=r.kind_flag)
        return Type(k, name, kind_flag=r.kind_flag)


@dataclass
class _Group:
    """The relocations of one object on one local type, in libbpf's order."""

    local_id: int
    relos: list[tuple[ExtSection, CoreRelo]] = field(default_factory=list)
    needs_ids: bool = False  # a TYPE_ID_TARGET value is a kernel type id


class FleetQuery:
    """Candidate look-ups and shared resolutions over one index."""

    def __init__(self, fleet: FleetFile, selected: set[int]) -> None:
        self.fleet = fleet
        self.kernels = fleet.kernels
        self.lookups = Lookups(fleet, selected)
        self._views: dict[int, VirtualTypes] = {}
        self._graphs: dict[int, TypeGraph] = {}

    def names_with_essential(self, ess: str) -> Iterator[int]:
        """String indexes of `ess` and every `ess___flavor` (the strings are sorted)."""
        return strings_with_essential(self.fleet.strings, ess)

    def candidates(self, local: Type) -> dict[int, tuple[tuple[int, ...], tuple[int, ...]]]:
        """Per selected kernel: the ids and records of its candidates, ascending ids (bpf_core_find_cands)."""
        found: dict[int, list[tuple[int, int]]] = {}
        kinds = ENUM_KINDS if local.kind in ENUM_KINDS else {local.kind}
        selected = self.lookups.selected
        for s in self.names_with_essential(essential_name(local.name)):
            for rec, kind in self.fleet.records_named(s):
                if kind not in kinds:
                    continue
                for k, tid in zip(*self.fleet.posting_columns(rec), strict=True):
                    if k in selected:
                        found.setdefault(k, []).append((tid, rec))
        out: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = {}
        for k, pairs in found.items():
            if len(pairs) == 1:
                out[k] = ((pairs[0][0],), (pairs[0][1],))
            else:
                pairs.sort()
                out[k] = (tuple(t for t, _ in pairs), tuple(r for _, r in pairs))
        return out

    def graph(self, k: int) -> tuple[TypeGraph, VirtualTypes]:
        g = self._graphs.get(k)
        if g is None:
            meta = self.kernels[k]
            view = VirtualTypes(self.fleet, k, int(meta.get("types", 0)) + 1, self.lookups)  # type: ignore[call-overload]
            target = TARGETS.get(str(meta.get("target", "")))
            if target is None:
                raise AbiguardError(self.fleet.path, f"kernel {meta['name']} has unknown target {meta.get('target')}")
            g = self._graphs[k] = TypeGraph(
                target=target, types=view, source=str(meta["name"]), name_lookup=view.ids_named
            )
            self._views[k] = view
        return g, self._views[k]

    def target(self, k: int) -> TargetKernel:
        """Kernel `k` as the checks take it, with its modules when the index has them (a package)."""
        graph, _ = self.graph(k)
        meta = self.kernels[k]

        def module_view(first: int, own: OwnTypes) -> VirtualTypes:
            return VirtualTypes(self.fleet, k, first, self.lookups, own)

        modules = FleetModules(self.fleet, k, graph, module_view) if meta.get("modules") else None
        return TargetKernel(str(meta["name"]), graph, b"", 0, modules=modules)


def _groups(obj: BpfObject) -> list[_Group]:
    by: dict[int, _Group] = {}
    for sec in obj.ext.relo_sections():
        for r in sec.core_relos:
            g = by.setdefault(r.type_id, _Group(r.type_id))
            g.relos.append((sec, r))
            if r.kind == ReloKind.TYPE_ID_TARGET:
                g.needs_ids = True
    return list(by.values())


def _with_ids(results: list[ReloResult], renumber: dict[int, dict[int, int]]) -> list[ReloResult]:
    """Results with the candidates of each local type's relocations renumbered to this kernel's ids.

    Candidates are listed as pruned so far: each maps by its position in the representative's list.
    """
    out = []
    for r in results:
        to_kernel = renumber.get(r.relo.type_id)
        if to_kernel and r.candidates:
            r = copy.copy(r)
            r.candidates = tuple(
                f"[{to_kernel[int(c[1 : c.index(']')])]}]{c[c.index(']') + 1 :]}" for c in r.candidates
            )
        out.append(r)
    return out


def check_core_fleet(
    objects: Sequence[str | Path], fleet_path: Path, select: dict[str, str], load_checks: bool = True
) -> CoreResult:
    """Every object on every selected kernel of the index: relocations resolved once per distinct candidate
    set, load checks run once per distinct set of records they look up."""
    fleet = open_fleet(fleet_path)
    metas = fleet.kernels
    chosen = _selected(metas, select)
    if not chosen:
        what = ",".join(f"{k}={v}" for k, v in select.items())
        raise AbiguardError(fleet_path,
                            f"no kernel in the index matches the selection {what}" if what else "index is empty")
    objs = [read_object(Path(o)) for o in objects]
    q = FleetQuery(fleet, set(chosen))
    names = [str(metas[k]["name"]) for k in chosen]
    verdicts = []
    for obj in objs:
        relocs = _check_object(q, obj, chosen)  # per chosen kernel: results in libbpf's order
        loads = _load_checks(q, obj, chosen) if load_checks else [([], {})] * len(chosen)
        path = str(obj.path)
        verdicts += [
            Verdict(path, name, list(results), list(findings), dict(refs), load_checks)
            for name, results, (findings, refs) in zip(names, relocs, loads, strict=True)
        ]
    name_refs(verdicts)
    named = {str(metas[k]["name"]): _identity(metas[k]) for k in chosen}
    return CoreResult(
        verdicts=tuple(verdicts),
        objects=tuple(str(o.path) for o in objs),
        kernels=tuple(named),
        identities=tuple(named.values()),
    )


def _identity(meta: dict[str, object]) -> KernelIdentity:
    fields = meta.get("identity")
    if not (isinstance(fields, list) and len(fields) == 4 and all(isinstance(f, str) for f in fields)):
        return KernelIdentity()
    return KernelIdentity(*fields)


Trace = list[tuple[Query, tuple[int, ...]]]
LoadAnswer = tuple[list[LoadFinding], dict[tuple[str, int], str]]


def _load_checks(q: FleetQuery, obj: BpfObject, chosen: list[int]) -> list[LoadAnswer]:
    """The load checks per chosen kernel, run once per distinct answer to the look-ups they make.

    A run records each name look-up as the records it found; a kernel whose look-ups find the same
    records gets that run's findings (they name types, never ids).
    """
    runs: list[tuple[object, list[tuple[dict[int, tuple[int, ...]], tuple[int, ...]]], LoadAnswer]] = []
    out = []
    for k in chosen:
        state: object = bool(q.kernels[k].get("modules"))
        for run_state, checks, answer in runs:
            if run_state == state and all(per.get(k, ()) == recs for per, recs in checks):
                out.append(answer)
                break
        else:
            _, view = q.graph(k)
            kernel = q.target(k)
            view.trace = []
            try:
                answer = (load_findings(obj, kernel), ref_names(obj, kernel))
            finally:
                trace, view.trace = view.trace, None
            if isinstance(kernel.modules, FleetModules) and kernel.modules.used:
                state = ("modules of", k)  # module look-ups are not traced: this answer is this kernel's
            runs.append((state, [(q.lookups.answers(query), recs) for query, recs in trace], answer))
            out.append(answer)
    return out


def _check_object(q: FleetQuery, obj: BpfObject, chosen: list[int]) -> list[list[ReloResult]]:
    """Per chosen kernel, its results in libbpf's order; each group resolved once per distinct key."""
    groups = _groups(obj)
    targets = [q.kernels[k].get("target") for k in chosen]
    # group -> per chosen kernel: the shared results, and (their ids, this kernel's) where they print other ones
    per_group: list[list[tuple[list[ReloResult], Renumber | None]]] = []
    for g in groups:
        local = obj.btf[g.local_id]
        cands = q.candidates(local) if local.name else {}
        # what the resolution depends on -> (representative's ids, results, whether they print ids)
        shared: dict[tuple[object, ...], tuple[tuple[int, ...], list[ReloResult], bool]] = {}
        mine: list[tuple[list[ReloResult], Renumber | None]] = []
        for k, target in zip(chosen, targets, strict=True):
            ids, recs = cands.get(k, _NO_CANDIDATES)
            key: tuple[object, ...] = (target, recs, ids) if g.needs_ids else (target, recs)
            if not ids and local.name and q.kernels[k].get("modules"):
                key += ("modules of", k)  # candidates come from the kernel's modules: resolved per kernel
            hit = shared.get(key)
            if hit is None:
                results = _resolve_group(q, obj, g, k, ids, recs)
                hit = shared[key] = (ids, results, any(r.candidates for r in results))
            rep_ids, results, prints_ids = hit
            mine.append((results, (rep_ids, ids) if prints_ids and ids != rep_ids else None))
        per_group.append(mine)
    # Kernels whose groups share results share the assembly (the poisoned instructions' reachability does
    # not depend on ids); only candidate ids are put back per kernel.
    assembled: dict[tuple[int, ...], tuple[tuple[list[ReloResult], ...], list[ReloResult]]] = {}
    live: dict[tuple[object, ...], set[int]] = {}
    with_ids: dict[tuple[object, ...], list[ReloResult]] = {}
    local_ids = [g.local_id for g in groups]
    out = []
    for i in range(len(chosen)):
        parts = tuple(mine[i][0] for mine in per_group)
        key = tuple(map(id, parts))  # the parts are held in `assembled`, so their ids stay theirs
        got = assembled.get(key)
        if got is None:
            got = assembled[key] = (parts, _assemble(obj, groups, dict(zip(local_ids, parts, strict=True)), live))
        renumber = tuple((lid, mine[i][1]) for lid, mine in zip(local_ids, per_group, strict=True) if mine[i][1])
        if not renumber:
            out.append(got[1])
            continue
        # Kernels of one release share their ids (flavours add members, not types): renumber once for them.
        ids_key = (key, renumber)
        renumbered = with_ids.get(ids_key)
        if renumbered is None:
            renumbered = with_ids[ids_key] = _with_ids(got[1], {lid: dict(zip(*m, strict=True)) for lid, m in renumber})
        out.append(renumbered)
    return out


Renumber = tuple[tuple[int, ...], tuple[int, ...]]  # a group's candidate ids: the representative's, a kernel's
_NO_CANDIDATES: tuple[tuple[int, ...], tuple[int, ...]] = ((), ())


def _resolve_group(
    q: FleetQuery, obj: BpfObject, g: _Group, k: int, ids: tuple[int, ...], recs: tuple[int, ...]
) -> list[ReloResult]:
    _, view = q.graph(k)
    view.real.update(zip(ids, recs, strict=True))
    ctx = ResolveContext(obj.btf, q.target(k))
    ctx.cands[g.local_id] = list(ids)
    return [
        resolve_relo(ctx, sec.name, obj.func_at(sec, r.insn_off), r, obj.code[sec.name], obj.line_at(sec, r.insn_off))
        for sec, r in g.relos
    ]


def _assemble(
    obj: BpfObject, groups: list[_Group], results: dict[int, list[ReloResult]], memo: dict[tuple[object, ...], set[int]]
) -> list[ReloResult]:
    """Results in libbpf's order, with the reachability of poisoned instructions worked out for this kernel."""
    pos = {gr.local_id: 0 for gr in groups}
    out: list[ReloResult] = []
    for sec in obj.ext.relo_sections():
        section: list[ReloResult] = []
        for r in sec.core_relos:
            section.append(results[r.type_id][pos[r.type_id]])
            pos[r.type_id] += 1
        live = live_poisoned(sec, obj.code[sec.name], section, memo)
        for i, r in enumerate(section):
            if r.status == Status.POISONED and r.reachable != (r.relo.insn_off // 8 in live):
                section[i] = r = copy.copy(r)
                r.reachable = not r.reachable
        out.extend(section)
    return out
