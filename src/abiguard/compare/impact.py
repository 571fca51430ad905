"""Impact chains: which changes of a type are effects of a changed type it embeds by value.

A member that holds (through typedefs, qualifiers, arrays) a type whose size or alignment changed
resizes, and the members after it move: those changes belong to that root cause, with the chain
`root -> typedefs -> Parent.member` that carries it. Layout changes that keep the size are followed
up the containment index instead (nothing in the embedder's own description changes then).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model import COMPOSITE_KINDS, Kind
from ..model.containment import Containment, How
from .changes import Change, TypeDiff
from .kinds import ChangeKind as K
from .kinds import Placement
from .match import Matching, TypeKey
from .shape import GraphView

# Changes that move the members declared after them.
_SHIFTING = frozenset({K.MEMBER_SIZE_CHANGED, K.MEMBER_REMOVED, K.BITFIELD_CHANGED, K.MEMBER_TYPE_CHANGED})


@dataclass(frozen=True)
class Cause:
    """The root cause of an effect and the chain that carries it, ending at the embedding member."""

    root: TypeKey
    chain: tuple[str, ...]


class Impact:
    """Attributes each type's changes to itself or to a root cause it embeds; memoized per type."""

    def __init__(self, new: GraphView, matching: Matching, diffs: dict[TypeKey, TypeDiff]) -> None:
        self.new = new
        self.matching = matching
        self.diffs = diffs
        self._attributed: dict[TypeKey, list[tuple[Change, Cause | None]]] = {}
        self._busy: set[TypeKey] = set()
        self._containment: Containment | None = None

    def _changed_layout(self, tid: int) -> TypeKey | None:
        key = self.matching.new_keys.get(tid)
        if key is not None and key in self.diffs and self.diffs[key].layout_changed:
            return key
        return None

    def member_cause(self, type_id: int) -> Cause | None:
        """The innermost changed type a member's type holds by value, with the chain up to it."""
        g = self.new.graph
        names: list[str] = []
        candidate: tuple[TypeKey, int] | None = None
        cur = type_id
        for _ in range(256):
            cur = self.new.strip_modifiers(cur)
            t = g[cur]
            if t.kind == Kind.TYPEDEF:
                key = self._changed_layout(cur)
                if key is not None:
                    candidate = (key, len(names))
                    if key.kind == "typedef":
                        break  # retargeted: what lies below is another type, not the old one changed
                names.append(t.name)
                cur = t.ref
                continue
            if t.kind == Kind.ARRAY:
                cur = t.ref
                continue
            key = self._changed_layout(cur)
            if key is not None:
                candidate = (key, len(names))
            break
        if candidate is None:
            return None
        key, depth = candidate
        inner = self.origin(key)
        base = inner.chain if inner is not None else (key.bare,)
        root = inner.root if inner is not None else key
        between = tuple(n for n in reversed(names[:depth]) if n != key.bare)
        return Cause(root, base + between)

    def origin(self, key: TypeKey) -> Cause | None:
        """Where a type's size/alignment change comes from, when it is entirely inherited."""
        diff = self.diffs.get(key)
        if diff is None or key in self._busy:
            return None
        for change, cause in self.attribute(diff):
            if change.kind in (K.SIZE_CHANGED, K.ALIGN_CHANGED):
                return cause
        return None

    def attribute(self, diff: TypeDiff) -> list[tuple[Change, Cause | None]]:
        """Each change of the type, with its root cause elsewhere (None: the type's own change)."""
        cached = self._attributed.get(diff.key)
        if cached is not None:
            return cached
        self._busy.add(diff.key)
        try:
            result = self._attribute(diff)
        finally:
            self._busy.discard(diff.key)
        self._attributed[diff.key] = result
        return result

    def _attribute(self, diff: TypeDiff) -> list[tuple[Change, Cause | None]]:
        kind = self.new.graph[diff.new_id].kind
        if kind not in COMPOSITE_KINDS:
            return [(c, None) for c in diff.changes]
        where = diff.key.bare
        events: list[tuple[int, Cause | None]] = []
        causes: dict[int, Cause | None] = {}
        for i, c in enumerate(diff.changes):
            cause: Cause | None = None
            if c.kind in (K.MEMBER_SIZE_CHANGED, K.ARRAY_ELEMENT_SIZE_CHANGED):
                inner = self.member_cause(c.new_type_id)
                if inner is not None:
                    cause = Cause(inner.root, (*inner.chain, f"{where}.{c.member}"))
            causes[i] = cause
            if c.kind in _SHIFTING or (c.kind == K.MEMBER_ADDED and c.where == Placement.INSERTED):
                if c.kind == K.MEMBER_TYPE_CHANGED and c.layout_identical:
                    continue
                events.append((c.old_bit_offset, cause))
        events.sort(key=lambda e: e[0])
        for i, c in enumerate(diff.changes):
            if c.kind != K.MEMBER_OFFSET_CHANGED:
                continue
            before = [cause for off, cause in events if off < c.old_bit_offset]
            if before:
                causes[i] = before[-1]
            else:
                inner = self.member_cause(c.new_type_id)  # its own type's alignment moved it
                causes[i] = Cause(inner.root, (*inner.chain, f"{where}.{c.member}")) if inner else None
        # The type's own size change is its own when it resized something itself (appended, inserted,
        # removed, resized a member); changes that move nothing (a member in padding) leave it inherited.
        own_resizing = any(cause is None for _, cause in events) or any(
            c.kind == K.MEMBER_ADDED and c.where == Placement.APPENDED for c in diff.changes)
        if not own_resizing:
            inherited = [cause for _, cause in events if cause is not None]
            offset_causes = [causes[j] for j, o in enumerate(diff.changes)
                             if o.kind == K.MEMBER_OFFSET_CHANGED and causes[j] is not None]
            pick = inherited or offset_causes
            for i, c in enumerate(diff.changes):
                if c.kind in (K.SIZE_CHANGED, K.ALIGN_CHANGED) and pick:
                    causes[i] = pick[-1]
        return [(c, causes[i]) for i, c in enumerate(diff.changes)]

    # --- layout changes that keep the size ----------------------------------------------
    def embedders(self, type_id: int) -> list[tuple[TypeKey, str, tuple[str, ...]]]:
        """Named types holding `type_id` by value: (type, member path, chain from it), nearest first."""
        if self._containment is None:
            self._containment = Containment(self.new.graph)
        g = self.new.graph
        root_key = self.matching.new_keys.get(type_id)
        root_name = root_key.bare if root_key else g[type_id].name
        out: list[tuple[TypeKey, str, tuple[str, ...]]] = []
        for reach in self._containment.embedders(type_id):
            if any(u.how == How.VAR for u in reach.path):
                continue
            key = self.matching.new_keys.get(reach.user)
            if key is None or g[reach.user].kind not in COMPOSITE_KINDS:
                continue
            chain: list[str] = [root_name]
            pending: list[str] = []
            path = ""
            for use in reach.path:
                if use.how == How.TYPEDEF and g[use.user].name != root_name:
                    chain.append(g[use.user].name)
                elif use.how == How.MEMBER:
                    if use.member:
                        pending.append(use.member)
                    user_key = self.matching.new_keys.get(use.user)
                    if user_key is not None:
                        path = ".".join(reversed(pending)) if pending else "(anonymous)"
                        chain.append(f"{user_key.bare}.{path}")
                        pending = []
            if path:
                out.append((key, path, tuple(chain)))
        return out
