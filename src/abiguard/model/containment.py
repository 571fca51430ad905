"""Who holds a type by value (transitively, with the path) and who only points at it."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from .graph import TypeGraph
from .types import COMPOSITE_KINDS, MODIFIER_KINDS, Kind


class How(Enum):
    """How one type uses another."""

    MEMBER = "member"  # struct/union member of that type
    ARRAY = "array"  # array element
    TYPEDEF = "typedef"
    MODIFIER = "modifier"  # const/volatile/restrict/type_tag
    VAR = "var"  # a global variable of that type
    POINTER = "pointer"  # a pointer type to it
    PARAM = "param"  # function-prototype parameter or return value

    @property
    def by_value(self) -> bool:
        return self in _BY_VALUE


_BY_VALUE = frozenset({How.MEMBER, How.ARRAY, How.TYPEDEF, How.MODIFIER, How.VAR})
# Kinds whose one `ref` is a use (members and prototypes are handled apart).
_REF_KINDS = MODIFIER_KINDS | {Kind.ARRAY, Kind.TYPEDEF, Kind.PTR, Kind.VAR}


@dataclass(frozen=True, slots=True)
class Use:
    """`user` uses `used` as `how`; for members, which one and where."""

    used: int
    user: int
    how: How
    member: str = ""  # "" for an anonymous member
    member_index: int = -1
    bit_offset: int = 0


@dataclass(frozen=True, slots=True)
class Reach:
    """A type that reaches the queried type, and the uses on the way (nearest first)."""

    user: int
    path: tuple[Use, ...]


class Containment:
    """Reverse edges of a TypeGraph, built once, answering who-uses-what queries."""

    def __init__(self, graph: TypeGraph, users: Mapping[int, Sequence[int]] | None = None) -> None:
        """Index `graph`; `users` (type id -> ids of the records naming it) may come from a reader
        that can list references without decoding every type (sources.btf_refs)."""
        self.graph = graph
        if users is not None:
            self._users = users
            return
        # Only user ids are stored (kernel BTF has ~200k edges); Use records are built per query.
        index: dict[int, list[int]] = {}
        types = graph.types
        for tid in graph.ids():
            t = types[tid]
            k = t.kind
            if k in COMPOSITE_KINDS:
                refs: Iterable[int] = dict.fromkeys(m.type for m in t.members)
            elif k in _REF_KINDS:
                refs = (t.ref,)
            elif k == Kind.FUNC_PROTO:
                refs = dict.fromkeys([t.ref, *(p.type for p in t.params if p.type)])
            else:
                continue
            for r in refs:
                bucket = index.get(r)
                if bucket is None:
                    index[r] = [tid]
                else:
                    bucket.append(tid)
        self._users: Mapping[int, Sequence[int]] = index

    def direct_uses(self, type_id: int) -> list[Use]:
        """Every type that uses `type_id` directly, in id order."""
        return [
            use
            for user in self._users.get(type_id, ())
            for use in _direct_uses_of_user(self.graph, user)
            if use.used == type_id
        ]

    def embedders(self, type_id: int) -> list[Reach]:
        """Every type that holds `type_id` by value, with one shortest path each, in BFS order."""
        return self._walk(type_id, max_pointers=0)

    def pointer_users(self, type_id: int, max_pointers: int | None = None) -> list[Reach]:
        """Types that reach `type_id` only through a pointer somewhere on the way.

        `max_pointers` bounds the pointers on a path (1: types holding, by value or not, a pointer
        to something holding `type_id` by value); None follows any number of them.
        """
        by_value = {r.user for r in self.embedders(type_id)}
        return [r for r in self._walk(type_id, max_pointers) if r.user not in by_value]

    def _walk(self, type_id: int, max_pointers: int | None) -> list[Reach]:
        # A state is (type, pointers so far, capped): reaching a type by value first and through a
        # pointer later (or the other way round) lead to different further reaches.
        cap = 1 if max_pointers is None else max_pointers
        seen_states = {(type_id, 0)}
        reported = {type_id}
        found: list[Reach] = []
        queue: deque[tuple[int, tuple[Use, ...], int]] = deque([(type_id, (), 0)])
        while queue:
            current, path, pointers = queue.popleft()
            for use in self.direct_uses(current):
                if use.how == How.POINTER:
                    count = pointers + 1
                    if max_pointers is not None and count > max_pointers:
                        continue
                elif use.how.by_value:
                    count = pointers
                else:
                    continue
                state = (use.user, min(count, cap))
                if state in seen_states:
                    continue
                seen_states.add(state)
                new_path = (*path, use)
                if use.user not in reported:
                    reported.add(use.user)
                    found.append(Reach(use.user, new_path))
                queue.append((use.user, new_path, count))
        return found


def _direct_uses_of_user(graph: TypeGraph, tid: int) -> list[Use]:
    t = graph[tid]
    k = t.kind
    if k in COMPOSITE_KINDS:
        return [
            Use(m.type, tid, How.MEMBER, m.name, i, m.bit_offset) for i, m in enumerate(t.members)
        ]
    if k == Kind.ARRAY:
        return [Use(t.ref, tid, How.ARRAY)]
    if k == Kind.TYPEDEF:
        return [Use(t.ref, tid, How.TYPEDEF)]
    if k in MODIFIER_KINDS:
        return [Use(t.ref, tid, How.MODIFIER)]
    if k == Kind.PTR:
        return [Use(t.ref, tid, How.POINTER)]
    if k == Kind.VAR:
        return [Use(t.ref, tid, How.VAR)]
    if k == Kind.FUNC_PROTO:
        refs = [t.ref, *(p.type for p in t.params if p.type)]
        return [Use(r, tid, How.PARAM) for r in dict.fromkeys(refs)]
    return []


def describe_path(graph: TypeGraph, reach: Reach) -> str:
    """`bpf_perf_event_data.regs (via typedef bpf_user_pt_regs_t)`-style text for a Reach."""
    member_steps: list[str] = []
    via: list[str] = []
    for use in reach.path:
        if use.how == How.MEMBER:
            member_steps.append(use.member or "<anon>")
        elif use.how == How.TYPEDEF and use.user != reach.user:
            via.append(graph.describe(use.user))
        elif use.how == How.POINTER:
            via.append("pointer")
        elif use.how == How.ARRAY:
            via.append(f"array {graph.c_name(use.user)}")
    # the outermost named type names the finding; anonymous intermediates become path steps
    owner = reach.user
    text = graph[owner].name or graph.describe(owner)
    if member_steps:
        text += "." + ".".join(reversed(member_steps))
    if via:
        text += " (via " + ", ".join(via) + ")"
    return text
