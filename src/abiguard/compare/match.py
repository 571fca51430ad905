"""Matching types across two versions: by kind and name, anonymous ones by typedef or by enumerators.

Anonymous structs/unions inside a named parent need no matching here: `GraphView.flat` inlines them,
so they are compared by their position (member path) in the parent.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from ..model import ENUM_KINDS, Kind
from .shape import GraphView

_KEYWORD = {Kind.STRUCT: "struct", Kind.UNION: "union", Kind.ENUM: "enum", Kind.ENUM64: "enum"}


class TypeKey(NamedTuple):
    """Identity of a type across versions. `name` is what C code calls it; `n` tells duplicates apart.

    A NamedTuple, not a dataclass: there is one per named type per graph, and tuples hash fastest.
    """

    kind: str  # struct | union | enum | typedef | func
    name: str
    n: int = 0
    via_typedef: bool = False  # an anonymous aggregate named by `typedef struct {...} name;`
    anon_enum: bool = False  # an anonymous enum, named here by its first enumerator

    @property
    def display(self) -> str:
        """How findings name the type: `struct foo`, `typedef foo_t`, `user_pt_regs`, `foo()`."""
        if self.via_typedef:
            return self.name
        if self.anon_enum:
            return f"enum (anonymous: {self.name})"
        if self.kind == "func":
            return f"{self.name}()"
        return f"{self.kind} {self.name}"

    @property
    def bare(self) -> str:
        """The name alone, as chains show it."""
        return self.name


@dataclass
class Matching:
    """Pairs of type ids (old, new) per key, and what exists on one side only."""

    pairs: list[tuple[TypeKey, int, int]] = field(default_factory=list)
    removed: list[tuple[TypeKey, int]] = field(default_factory=list)
    added: list[tuple[TypeKey, int]] = field(default_factory=list)
    old_keys: dict[int, TypeKey] = field(default_factory=dict)
    new_keys: dict[int, TypeKey] = field(default_factory=dict)


def _named_types(view: GraphView) -> Iterator[tuple[TypeKey, int]]:
    """Every type a comparison tracks by name, with duplicates numbered in id order."""
    typedef_names = view.typedef_names()
    seen: dict[tuple[str, str, bool], int] = {}
    for tid, t in enumerate(view.types):
        k = t.kind
        if k in _KEYWORD:
            if t.name:
                kind, name, via = _KEYWORD[k], t.name, False
            elif tid in typedef_names:
                kind, name, via = _KEYWORD[k], typedef_names[tid], True
            else:
                continue
        elif k == Kind.TYPEDEF and t.name:
            kind, name, via = "typedef", t.name, False
        elif k == Kind.FUNC and t.name:
            kind, name, via = "func", t.name, False
        else:
            continue
        ident = (kind, name, via)
        n = seen.get(ident, 0)
        seen[ident] = n + 1
        yield TypeKey(kind, name, n, via), tid


def _anonymous_enums(view: GraphView) -> list[int]:
    named = view.typedef_names()
    return [tid for tid, t in enumerate(view.types)
            if t.kind in ENUM_KINDS and not t.name and tid not in named and t.enumerators]


def match_types(old: GraphView, new: GraphView) -> Matching:
    """Pair every tracked type of OLD with its counterpart in NEW by key."""
    result = Matching()
    old_index = dict(_named_types(old))
    new_index = dict(_named_types(new))
    _pair_duplicates(old, new, old_index, new_index)
    for key, oid in old_index.items():
        nid = new_index.get(key)
        if nid is None:
            result.removed.append((key, oid))
        else:
            result.pairs.append((key, oid, nid))
    result.added = [(key, nid) for key, nid in new_index.items() if key not in old_index]
    _match_typedef_named(old, new, result)
    _match_anonymous_enums(old, new, result)
    _match_enums_given_a_tag(old, new, result)
    result.old_keys = {tid: key for key, tid in old_index.items()}
    result.new_keys = {tid: key for key, tid in new_index.items()}
    for key, oid, nid in result.pairs:  # pairs matched by other means carry one key on both sides
        result.old_keys[oid] = key
        result.new_keys[nid] = key
    return result


def _pair_duplicates(old: GraphView, new: GraphView, old_index: dict[TypeKey, int],
                     new_index: dict[TypeKey, int]) -> None:
    """Several types of one kind and name (vmlinux has some): pair equal declarations first, then by order.

    Renumbers the duplicates' `n` in `new_index` so that equal pairs share a key.
    """
    dup_names = {(k.kind, k.name, k.via_typedef) for k in new_index if k.n > 0}
    dup_names |= {(k.kind, k.name, k.via_typedef) for k in old_index if k.n > 0}
    old_groups: dict[tuple[str, str, bool], list[tuple[TypeKey, int]]] = {}
    new_groups: dict[tuple[str, str, bool], list[tuple[TypeKey, int]]] = {}
    for index, groups in ((old_index, old_groups), (new_index, new_groups)):
        for k, tid in index.items():
            ident = (k.kind, k.name, k.via_typedef)
            if ident in dup_names:
                groups.setdefault(ident, []).append((k, tid))
    for kind, name, via in sorted(dup_names):
        olds = old_groups.get((kind, name, via), [])
        news = new_groups.get((kind, name, via), [])
        for k, _ in news:
            del new_index[k]
        free = [nid for _, nid in news]
        order: dict[int, TypeKey] = {}
        for key, oid in olds:
            sig = old.signature(oid)
            same = next((nid for nid in free if new.signature(nid) == sig), None)
            if same is not None:
                free.remove(same)
                order[same] = key
        unused = [key for key, _ in olds if key not in order.values()]
        spare = len(olds)
        for nid in free:
            if unused:
                order[nid] = unused.pop(0)
            else:
                order[nid] = TypeKey(kind, name, spare, via)
                spare += 1
        for nid, key in order.items():
            new_index[key] = nid


def _typedef_target(view: GraphView, name: str) -> int | None:
    for tid in view.graph.ids_named(name):
        t = view.types[tid]
        if t.kind == Kind.TYPEDEF:
            return view.strip_modifiers(t.ref)
    return None


def _match_typedef_named(old: GraphView, new: GraphView, result: Matching) -> None:
    """`typedef struct {...} foo;` <-> `typedef struct foo {...} foo;`: the same type under the same name."""
    added = {nid: key for key, nid in result.added}
    removed = {oid: key for key, oid in result.removed}
    for key, oid in list(result.removed):
        target = _typedef_target(new, key.name) if key.via_typedef else None
        if target is not None and target in added and added[target].kind == key.kind:
            result.pairs.append((key, oid, target))
            result.removed.remove((key, oid))
            result.added.remove((added.pop(target), target))
    for key, nid in list(result.added):
        target = _typedef_target(old, key.name) if key.via_typedef else None
        if target is not None and target in removed and removed[target].kind == key.kind \
                and (removed[target], target) in result.removed:
            result.pairs.append((key, target, nid))
            result.removed.remove((removed[target], target))
            result.added.remove((key, nid))


def _match_anonymous_enums(old: GraphView, new: GraphView, result: Matching) -> None:
    """Anonymous enums (`enum { BPF_ANY, BPF_NOEXIST };`) pair with the one sharing most enumerator names."""
    new_enums = _anonymous_enums(new)
    owners: dict[str, list[int]] = {}
    for nid in new_enums:
        for e in new.types[nid].enumerators:
            owners.setdefault(e.name, []).append(nid)
    used: set[int] = set()
    for oid in _anonymous_enums(old):
        votes: dict[int, int] = {}
        for e in old.types[oid].enumerators:
            for nid in owners.get(e.name, ()):
                if nid not in used:
                    votes[nid] = votes.get(nid, 0) + 1
        label = old.types[oid].enumerators[0].name
        key = TypeKey("enum", label, anon_enum=True)
        if votes:
            best = min(votes, key=lambda n: (-votes[n], n))
            used.add(best)
            result.pairs.append((key, oid, best))
        else:
            result.removed.append((key, oid))
    for nid in new_enums:
        if nid not in used:
            label = new.types[nid].enumerators[0].name
            result.added.append((TypeKey("enum", label, anon_enum=True), nid))


def _match_enums_given_a_tag(old: GraphView, new: GraphView, result: Matching) -> None:
    """`enum { TCA_ID_UNSPEC, ... };` that became `enum tca_id { TCA_ID_UNSPEC, ... };`: the same enum,
    now with a tag -- every old enumerator sits in the one new tagged enum. Diffed as one type."""
    tagged = {nid: key for key, nid in result.added if key.kind == "enum" and not key.anon_enum}
    owner: dict[str, int] = {}
    for nid in tagged:
        for e in new.types[nid].enumerators:
            owner[e.name] = nid
    for key, oid in sorted(k for k in result.removed if k[0].anon_enum):
        homes = {owner.get(e.name) for e in old.types[oid].enumerators}
        nid = homes.pop() if len(homes) == 1 else None
        if nid is None or nid not in tagged:
            continue  # enumerators gone or spread over several enums, or an earlier one took it
        result.pairs.append((tagged[nid], oid, nid))
        result.removed.remove((key, oid))
        result.added.remove((tagged.pop(nid), nid))
