"""Root-cause ids: every finding that one change causes, on any arch, carries the same short id.

The id hashes the root type's bare name (`struct user_pt_regs` and the typedef `user_pt_regs` of an
anonymous struct are one name) and what changed in it: for a resize, only the growth, so "grew 8 bytes"
on two arches is one root cause even when a different member was appended on each.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from .kinds import ChangeKind as K


class Finding(Protocol):
    """What an id is computed from (findings.Finding has it; a protocol keeps findings -> root_cause one-way)."""

    arch: str
    severity: int
    kind: str
    type: str
    member: str | None
    old: Any
    new: Any
    root: str
    chain: tuple[str, ...]

_KEYWORDS = ("struct ", "union ", "enum ", "typedef ")


def bare_name(name: str) -> str:
    """`struct foo` -> `foo`; `#define X` and `foo()` stay as they are."""
    for word in _KEYWORDS:
        if name.startswith(word):
            return name[len(word):]
    return name


def is_own_change(f: Finding) -> bool:
    """The root type's own change, not an effect in a type that embeds it."""
    return f.type == f.root and len(f.chain) <= 1


def size_delta(own: Iterable[Finding]) -> int | None:
    """How many bytes the root type grew (negative: shrank), None when its size did not change."""
    for f in own:
        if f.kind == K.SIZE_CHANGED and f.member is None and isinstance(f.old, int) and isinstance(f.new, int):
            return f.new - f.old
    return None


def _signature(findings: Sequence[Finding]) -> list[Any]:
    own = [f for f in findings if is_own_change(f)]
    delta = size_delta(own)
    if delta is not None:
        # The same growth judged differently (embedded by value on one arch, behind pointers on another)
        # is a different fact: it gets its own block.
        return ["size", delta, max(int(f.severity) for f in own)]
    pick = own or findings
    return sorted([str(f.kind), f.type if not own else "", f.member or "",
                   json.dumps(f.old, sort_keys=True, default=str), json.dumps(f.new, sort_keys=True, default=str)]
                  for f in pick)


def root_cause_ids(findings: Iterable[Finding]) -> dict[tuple[str, str], str]:
    """(arch, root) -> a 12-hex-digit id shared by every arch where that root changed the same way."""
    by_root: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        by_root.setdefault((f.arch, f.root), []).append(f)
    out: dict[tuple[str, str], str] = {}
    for (arch, root), group in by_root.items():
        text = json.dumps([bare_name(root), _signature(group)], sort_keys=True)
        out[(arch, root)] = hashlib.sha256(text.encode()).hexdigest()[:12]
    return out
