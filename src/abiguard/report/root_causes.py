"""Root cause first: one block per change per group of arches where it is the same, told as one sentence.

Findings sharing a `root_cause` id (compare/root_cause.py) are one block; the sentence says what changed
in the root type (and per arch, when that differs), which by-value chain carries it and what moves.
Renderers format the sentence's pieces: code spans are names, the rest is plain text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..compare.findings import DiffResult, Finding, Severity
from ..compare.kinds import ChangeKind as K
from ..compare.root_cause import bare_name, is_own_change, root_cause_ids, size_delta
from .grouping import MergedFinding, arch_sort_key, format_value, merge_findings, severity_order, sort_arches

Piece = tuple[str, bool]  # (text, is a name to show as code)
MAX_TYPES_NAMED = 3  # a change embedded in dozens of types names the first few and counts the rest
MAX_CLAUSES = 3  # likewise for the root's own changes
MAX_MEMBERS = 6  # and for the members that move in one type
_CONSEQUENCES = frozenset({K.MEMBER_OFFSET_CHANGED, K.MEMBER_MOVED})


@dataclass(frozen=True)
class RootCause:
    """Every finding of one change across the arches where it is the same change."""

    id: str
    name: str  # bare name of the root type or constant
    findings: tuple[Finding, ...]
    entries: tuple[MergedFinding, ...]
    universe: tuple[str, ...]  # arches the diff ran on

    @property
    def arches(self) -> tuple[str, ...]:
        return sort_arches(f.arch for f in self.findings)

    @property
    def everywhere(self) -> bool:
        return set(self.universe) <= set(self.arches)

    @property
    def waived(self) -> bool:
        return all(f.waived_by is not None for f in self.findings)

    @property
    def severity(self) -> Severity:
        active = [f.severity for f in self.findings if f.waived_by is None] or [f.severity for f in self.findings]
        return max(active, default=Severity.IDENTICAL)

    def causes(self) -> tuple[MergedFinding, ...]:
        return tuple(e for e in self.entries if e.type == e.root and len(e.chain) <= 1)

    def effects(self) -> tuple[MergedFinding, ...]:
        return tuple(e for e in self.entries if not (e.type == e.root and len(e.chain) <= 1))

    def affected_types(self) -> tuple[str, ...]:
        """Bare names of the types the change reaches beyond its root, sorted."""
        return tuple(sorted({bare_name(e.type) for e in self.effects()}))

    def pictured_types(self) -> tuple[tuple[str, str], ...]:
        """(arch, type display name) of the root and every affected type, root first, per arch."""
        seen: dict[tuple[str, str], tuple[Any, ...]] = {}
        for f in self.findings:
            seen.setdefault((f.arch, f.type), (f.type != f.root, bare_name(f.type), arch_sort_key(f.arch)))
        return tuple(sorted(seen, key=lambda k: seen[k]))

    def label(self) -> str:
        return "waived" if self.waived else self.severity.label

    def arch_label(self) -> str:
        return "all arches" if self.everywhere else "only on: " + ", ".join(self.arches)

    def sentence(self) -> list[Piece]:
        """`user_pt_regs` grew 8 bytes (aarch64: `orig_x0` added at 272; ...) → embedded ... → ... move by 8."""
        out: list[Piece] = [(self.name, True)]
        out += self._what_changed()
        out += self._embedding()
        out += self._moves()
        return out

    def _what_changed(self) -> list[Piece]:
        own = [f for f in self.findings if is_own_change(f)]
        delta = size_delta(own)
        if delta is None:
            briefs = [_brief(e) for e in self.causes()] or [[(" changed", False)]]
            out: list[Piece] = [(":", False)] if any(e.member for e in self.causes()) else []
            for i, b in enumerate(briefs[:MAX_CLAUSES]):
                out += [(";", False), *b] if i else b
            if len(briefs) > MAX_CLAUSES:
                out.append((f"; and {len(briefs) - MAX_CLAUSES} more", False))
            return out
        verb = "grew" if delta > 0 else "shrank"
        out = [(f" {verb} {abs(delta)} byte{'s' if abs(delta) != 1 else ''}", False)]
        # What made it resize, per arch: arches where the same member was added alike share one clause.
        per_arch: dict[tuple[Piece, ...], list[str]] = {}
        for arch in self.arches:
            here = [e for e in self.causes() if arch in e.arches and e.kind != K.SIZE_CHANGED]
            # Members added, removed or resized make the size change; members moving is what follows.
            drivers = [e for e in here if e.kind not in _CONSEQUENCES] or here
            parts: list[Piece] = []
            for e in drivers[:MAX_CLAUSES]:
                parts += ([("; ", False)] if parts else []) + _brief(e, leading_space=False)
            if len(drivers) > MAX_CLAUSES:
                parts.append((f"; and {len(drivers) - MAX_CLAUSES} more", False))
            if parts:
                per_arch.setdefault(tuple(parts), []).append(arch)
        if not per_arch:
            return out
        out.append((" (", False))
        if len(per_arch) == 1:
            out += list(next(iter(per_arch)))
        else:
            for i, (parts, arches) in enumerate(per_arch.items()):
                out += ([("; ", False)] if i else []) + [(", ".join(arches) + ": ", False), *parts]
        out.append((")", False))
        return out

    def _embedding(self) -> list[Piece]:
        chains = sorted({e.chain for e in self.effects() if len(e.chain) > 1})
        if not chains:
            return []
        out: list[Piece] = [(" → embedded by value in ", False)]
        for i, chain in enumerate(chains[:MAX_TYPES_NAMED]):
            if i:
                out.append((", and in ", False))
            out.append((chain[-1], True))
            via = chain[1:-1]
            if via:
                out.append((" via ", False))
                for j, name in enumerate(via):
                    out += ([(", ", False)] if j else []) + [(name, True)]
        if len(chains) > MAX_TYPES_NAMED:
            out.append((f", and {len(chains) - MAX_TYPES_NAMED} more places", False))
        return out

    def _moves(self) -> list[Piece]:
        """Per affected type: which members move and by how much (what readers of those types get wrong)."""
        types = self.affected_types()
        out: list[Piece] = []
        for name in types[:MAX_TYPES_NAMED]:
            moved: dict[str, tuple[int, set[Any]]] = {}
            changed: set[str] = set()
            for e in self.effects():
                if bare_name(e.type) != name or not e.member:
                    continue
                if e.kind == K.MEMBER_OFFSET_CHANGED and isinstance(e.old, int) and isinstance(e.new, int):
                    first, deltas = moved.get(e.member, (e.old, set()))
                    moved[e.member] = (min(first, e.old), deltas | {e.new - e.old})
                elif e.kind == K.EMBEDDED_TYPE_CHANGED:
                    changed.add(e.member)
            if not moved and not changed:
                continue
            out.append((" → ", False))
            if len(types) > 1:
                out += [(name, True), (": ", False)]
            order = sorted(moved, key=lambda m: (moved[m][0], m))
            for i, member in enumerate(order[:MAX_MEMBERS]):
                out += ([(", ", False)] if i else []) + [(member, True)]
            if len(order) > MAX_MEMBERS:
                out.append((f" and {len(order) - MAX_MEMBERS} more", False))
            if order:
                deltas = sorted({d for _, ds in moved.values() for d in ds})
                verb = "move" if len(order) > 1 else "moves"
                out.append((f" {verb} by {'/'.join(str(d) for d in deltas)}", False))
            if changed:
                out.append(("; " if order else "", False))
                for i, member in enumerate(sorted(changed)):
                    out += ([(", ", False)] if i else []) + [(member, True)]
                out.append((" change layout inside", False))
        if len(types) > MAX_TYPES_NAMED:
            out.append((f" → and {len(types) - MAX_TYPES_NAMED} more types", False))
        return out


def _brief(e: MergedFinding, leading_space: bool = True) -> list[Piece]:
    """A short clause for one change of the root itself: `orig_x0` added at 272, removed, value 1 → 2."""
    space = " " if leading_space else ""
    kind = str(e.kind)
    change = f" {format_value(e.old)} → {format_value(e.new)}" if e.old is not None and e.new is not None else \
        (f" ({e.change})" if e.change else "")
    if e.member is None:
        if kind.endswith("_added") or kind.endswith("_removed"):
            return [(f"{space}{kind.rsplit('_', 1)[1]}", False)]
        return [(f"{space}{kind.replace('_', ' ')}{change}", False)]
    lead: list[Piece] = [(space, False)] if space else []
    if kind == K.MEMBER_ADDED and isinstance(e.new, dict) and "offset" in e.new:
        return [*lead, (e.member, True), (f" added at {e.new['offset']}", False)]
    words = kind.replace("member_", "").replace("enumerator_", "").replace("_", " ")
    return [*lead, (e.member, True), (f" {words}{change}", False)]


def root_causes(result: DiffResult) -> list[RootCause]:
    """Blocks in report order: active before waived, worst first, widest reach first, then by name and id."""
    ids = root_cause_ids(result.findings)
    buckets: dict[str, list[Finding]] = {}
    for f in result.findings:
        buckets.setdefault(ids[(f.arch, f.root)], []).append(f)
    out = []
    for rc_id, group in buckets.items():
        group.sort(key=lambda f: (*f.sort_key()[:-1], arch_sort_key(f.arch)))
        name = min(bare_name(f.root) for f in group)
        out.append(RootCause(rc_id, name, tuple(group), tuple(merge_findings(group, result.arches)),
                             tuple(result.arches)))
    # Within a severity, the changes that reach the most types come first: what a reader must see.
    out.sort(key=lambda rc: (rc.waived, -rc.severity, -len(rc.affected_types()), rc.name, rc.id))
    return out


@dataclass(frozen=True)
class DetailRow:
    """One line of the folded details: a change of one type (member) with its value on each arch."""

    severity: Severity
    target: str
    kind: str
    values: tuple[tuple[str, tuple[str, ...]], ...]  # (old -> new, arches), one per distinct value
    waived_by: str | None

    def values_text(self, universe: Sequence[str]) -> str:
        if len(self.values) == 1:
            change, arches = self.values[0]
            return change + ("" if set(universe) <= set(arches) else f" ({', '.join(arches)})")
        return "; ".join(f"{', '.join(arches)}: {change}" for change, arches in self.values)


def detail_rows(rc: RootCause) -> list[DetailRow]:
    """The root's own changes, then its effects; the same member and kind with per-arch values is one row."""
    return _fold(rc.causes()) + _fold(rc.effects())


def _fold(entries: Iterable[MergedFinding]) -> list[DetailRow]:
    rows: dict[tuple[Any, ...], list[MergedFinding]] = {}
    for e in entries:
        key = (e.severity, bare_name(e.type), e.member or "", str(e.kind), e.waived_by)
        rows.setdefault(key, []).append(e)
    out = []
    for (sev, _, _, kind, waived), group in rows.items():
        values = []
        for e in sorted(group, key=lambda e: arch_sort_key(e.arches[0])):
            both = e.old is not None and e.new is not None
            values.append((f"{format_value(e.old)} → {format_value(e.new)}" if both else e.change, e.arches))
        out.append(DetailRow(sev, group[0].target, kind, tuple(values), waived))
    out.sort(key=lambda r: (-r.severity, bare_name(r.target), r.kind))
    return out


@dataclass(frozen=True)
class CauseSummary:
    """Counts over root causes: per severity the number of causes, arches touched and types affected."""

    counts: dict[Severity, int]
    arches: dict[Severity, tuple[str, ...]]
    types: dict[Severity, int]
    waived: int


def summarize_causes(causes: Sequence[RootCause]) -> CauseSummary:
    counts = {s: 0 for s in severity_order()}
    arches: dict[Severity, set[str]] = {s: set() for s in counts}
    types: dict[Severity, set[str]] = {s: set() for s in counts}
    waived = 0
    for rc in causes:
        if rc.waived:
            waived += 1
            continue
        counts[rc.severity] += 1
        arches[rc.severity].update(rc.arches)
        types[rc.severity].update(rc.affected_types())
    return CauseSummary(counts, {s: sort_arches(a) for s, a in arches.items()},
                        {s: len(t) for s, t in types.items()}, waived)


def summary_sentence(summary: CauseSummary, universe: Sequence[str]) -> str:
    """`1 breaking change on 2 arches, 1 type affected; 3 compatible changes on all arches`."""
    parts = []
    for sev in severity_order():
        n = summary.counts[sev]
        if not n:
            continue
        arches = summary.arches[sev]
        where = "all arches" if set(universe) <= set(arches) and len(universe) > 1 else \
            f"{len(arches)} arch{'es' if len(arches) != 1 else ''}"
        text = f"{n} {sev.label} change{'s' if n != 1 else ''} on {where}"
        t = summary.types[sev]
        if t:
            text += f", {t} type{'s' if t != 1 else ''} affected"
        parts.append(text)
    if summary.waived:
        parts.append(f"{summary.waived} waived")
    return "; ".join(parts) if parts else "no ABI change"
