"""Cross-arch merging and root-cause grouping of findings, shared by every human-facing renderer."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..compare.findings import DiffResult, Finding, Severity
from ..compare.kinds import ChangeKind
from ..model.target import arch_sort_key, sort_arches


def value_key(value: Any) -> str:
    """A canonical string for an old/new value so unhashable values (lists, dicts) can be compared."""
    return json.dumps(value, sort_keys=True, default=str)


def format_value(value: Any) -> str:
    """Short human form of an old/new value."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float | str):
        return str(value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {format_value(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)


@dataclass(frozen=True)
class MergedFinding:
    """One change seen on one or more arches: the per-arch Findings that agree on everything but the arch."""

    severity: Severity
    kind: ChangeKind
    type: str
    member: str | None
    old: Any
    new: Any
    message: str
    root: str
    chain: tuple[str, ...]
    arches: tuple[str, ...]
    locations: tuple[str, ...]
    waived_by: str | None
    everywhere: bool  # seen on every arch the diff ran on

    @property
    def target(self) -> str:
        """`struct foo.member`, or the type alone when the finding is about the whole type."""
        return f"{self.type}.{self.member}" if self.member else self.type

    @property
    def change(self) -> str:
        """`old -> new`; `new: ...` / `was: ...` when only one side has a value; empty when neither."""
        if self.old is None and self.new is None:
            return ""
        if self.old is None:
            return f"new: {format_value(self.new)}"
        if self.new is None:
            return f"was: {format_value(self.old)}"
        return f"{format_value(self.old)} -> {format_value(self.new)}"

    @property
    def location(self) -> str:
        return self.locations[0] if self.locations else ""

    def arch_label(self) -> str:
        """`all arches`, or `only on: s390x, aarch64` so arch-only changes stand out."""
        return "all arches" if self.everywhere else "only on: " + ", ".join(self.arches)

    def sort_key(self) -> tuple[Any, ...]:
        return (-self.severity, self.type, self.member or "", self.kind, value_key(self.old),
                value_key(self.new), self.chain, tuple(arch_sort_key(a) for a in self.arches))


@dataclass(frozen=True)
class RootGroup:
    """One root cause with every effect it has, across arches."""

    root: str
    entries: tuple[MergedFinding, ...]

    @property
    def severity(self) -> Severity:
        return max((e.severity for e in self.entries), default=Severity.IDENTICAL)

    @property
    def arches(self) -> tuple[str, ...]:
        return sort_arches(a for e in self.entries for a in e.arches)

    @property
    def waived(self) -> bool:
        return all(e.waived_by is not None for e in self.entries)

    def causes(self) -> tuple[MergedFinding, ...]:
        """Entries describing the root type's own change (one per distinct per-arch value)."""
        return tuple(e for e in self.entries if _is_cause(e))

    def effects(self) -> tuple[MergedFinding, ...]:
        """Entries for the types the root change reaches (everything but causes())."""
        return tuple(e for e in self.entries if not _is_cause(e))


def _is_cause(entry: MergedFinding) -> bool:
    return entry.type == entry.root and len(entry.chain) <= 1


def _merge_key(f: Finding) -> tuple[Any, ...]:
    # Chain, severity and waiver are part of identity: two arches that reach a type by different paths,
    # or that rate the same change differently, are different facts and must not be folded together.
    return (f.root, f.kind, f.type, f.member, value_key(f.old), value_key(f.new), f.chain, f.severity,
            f.waived_by)


def merge_findings(findings: Sequence[Finding], arches: Sequence[str]) -> list[MergedFinding]:
    """Fold per-arch findings that describe the same change into one entry each, in a stable order."""
    universe = set(arches) or {f.arch for f in findings}
    buckets: dict[tuple[Any, ...], list[Finding]] = {}
    for f in findings:
        buckets.setdefault(_merge_key(f), []).append(f)
    merged: list[MergedFinding] = []
    for group in buckets.values():
        group.sort(key=lambda f: arch_sort_key(f.arch))
        first = group[0]
        arch_list = sort_arches(f.arch for f in group)
        merged.append(MergedFinding(
            severity=first.severity, kind=first.kind, type=first.type, member=first.member,
            old=first.old, new=first.new, message=first.message, root=first.root, chain=tuple(first.chain),
            arches=arch_list, locations=tuple(sorted({f.location for f in group if f.location})),
            waived_by=first.waived_by, everywhere=universe <= set(arch_list),
        ))
    merged.sort(key=MergedFinding.sort_key)
    return merged


def group_by_root(findings: Sequence[Finding], arches: Sequence[str]) -> list[RootGroup]:
    """Merged findings grouped under their root cause; worst root first, then by name."""
    by_root: dict[str, list[MergedFinding]] = {}
    for m in merge_findings(findings, arches):
        by_root.setdefault(m.root, []).append(m)
    groups = [RootGroup(root, tuple(entries)) for root, entries in by_root.items()]
    groups.sort(key=lambda g: (g.waived, -g.severity, g.root))
    return groups


@dataclass(frozen=True)
class Summary:
    """Counts a report header shows: merged entries per severity and the arches with a finding."""

    verdict: Severity
    counts: dict[Severity, int]
    affected: dict[Severity, tuple[str, ...]]  # arches with at least one active finding of that severity
    waived: int


def summarize(result: DiffResult, merged: Sequence[MergedFinding]) -> Summary:
    """Severity counts over merged entries (waived ones counted apart) and the arches each touches."""
    counts = {s: 0 for s in Severity if s is not Severity.IDENTICAL}
    affected: dict[Severity, set[str]] = {s: set() for s in counts}
    waived = 0
    for m in merged:
        if m.waived_by is not None:
            waived += 1
            continue
        counts[m.severity] += 1
        affected[m.severity].update(m.arches)
    return Summary(result.verdict, counts, {s: sort_arches(a) for s, a in affected.items()}, waived)


def severity_order() -> tuple[Severity, ...]:
    """Severities worst first, without IDENTICAL (which never labels a finding)."""
    return tuple(s for s in sorted(Severity, reverse=True) if s is not Severity.IDENTICAL)


def chain_text(chain: Sequence[str]) -> str:
    """`a -> b -> c` for an impact chain."""
    return " -> ".join(chain)
