"""Findings: what the comparer reports, one object per change per arch; the JSON contract."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from ..model.graph import is_libc_location
from .root_cause import root_cause_ids

if TYPE_CHECKING:
    from .layouts import LayoutPair

from .kinds import ChangeKind


class Severity(IntEnum):
    """Ordered so that max() gives the verdict; `identical` means no change at all."""

    IDENTICAL = 0
    COMPATIBLE = 1
    API = 2
    REVIEW = 3
    BREAKING = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        return cls[text.upper()]


@dataclass(frozen=True)
class Finding:
    """One change on one arch, with the by-value chain that carries it to `type`.

    `root` names the root cause (e.g. "struct user_pt_regs"); findings sharing a root are one
    change with several effects. `chain` runs from the root cause to the affected member.
    """

    arch: str
    severity: Severity
    kind: ChangeKind  # e.g. "member_offset_changed", "size_changed", "constant_value_changed"
    type: str  # "struct bpf_perf_event_data", "enum bpf_map_type", "#define FS_IOC_FIEMAP"
    member: str | None
    old: Any
    new: Any
    message: str
    root: str
    chain: tuple[str, ...] = ()
    location: str = ""  # "file:line" of the type in NEW (or OLD when removed), where known
    waived_by: str | None = None  # reason of the waiver that silenced it, if any

    def to_json(self) -> dict[str, Any]:
        """The public JSON form (keys and meaning are API)."""
        return {
            "arch": self.arch,
            "severity": self.severity.label,
            "kind": str(self.kind),
            "type": self.type,
            "member": self.member,
            "old": self.old,
            "new": self.new,
            "chain": list(self.chain),
            "message": self.message,
            "root": self.root,
            "location": self.location,
            **({"libc": True} if self.libc else {}),
            **({"waived": self.waived_by} if self.waived_by else {}),
        }

    @property
    def libc(self) -> bool:
        """True when the type is one the libc headers declare (struct sockaddr ...), not the source."""
        return is_libc_location(self.location)

    def sort_key(self) -> tuple[Any, ...]:
        return (-self.severity, self.root, self.type, self.member or "", self.kind, self.arch)


@dataclass
class DiffResult:
    """Everything one `abiguard diff` run found, over all arches."""

    arches: list[str]
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # e.g. headers that did not parse, expired waivers
    notes: list[str] = field(default_factory=list)  # e.g. which libc headers the sources were read with
    # (arch, type display name) -> old and new member layout, for each struct/union a finding names; not in JSON.
    layouts: dict[tuple[str, str], LayoutPair] = field(default_factory=dict)

    @property
    def verdict(self) -> Severity:
        active = [f.severity for f in self.findings if f.waived_by is None]
        return max(active, default=Severity.IDENTICAL)

    def to_json(self) -> dict[str, Any]:
        """The public JSON form; each finding also carries `root_cause`, the id shared by one change's findings."""
        ids = root_cause_ids(self.findings)
        return {
            "verdict": self.verdict.label,
            "arches": list(self.arches),
            "findings": [{**f.to_json(), "root_cause": ids[(f.arch, f.root)]}
                         for f in sorted(self.findings, key=Finding.sort_key)],
            "errors": list(self.errors),
            **({"notes": list(self.notes)} if self.notes else {}),
        }
