"""Raw change detection for one matched pair of types: what differs, without judging it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..model import COMPOSITE_KINDS, ENUM_KINDS, Constant, Kind
from .kinds import ChangeKind as K
from .kinds import Placement
from .match import TypeKey
from .shape import FlatMember, GraphView


@dataclass(frozen=True)
class Change:
    """One difference. `where` says how a member was added (appended, in_hole, in_reserved, union, inserted)."""

    kind: K
    member: str | None = None
    old: Any = None
    new: Any = None
    where: Placement | None = None
    layout_identical: bool = False  # old and new types have the same layout (source-level change only)
    signedness_only: bool = False
    old_bit_offset: int = -1  # position in OLD, orders shift events
    new_type_id: int = 0  # the member's type in NEW, to look for a changed type inside it
    detail: str = ""  # words for the message


@dataclass
class TypeDiff:
    """All raw changes of one matched type."""

    key: TypeKey
    old_id: int
    new_id: int
    changes: list[Change] = field(default_factory=list)
    old_size: int = 0
    new_size: int = 0

    @property
    def size_changed(self) -> bool:
        return self.old_size != self.new_size

    @property
    def layout_changed(self) -> bool:
        """Size or alignment differ: whatever embeds this type by value moves."""
        return self.size_changed or any(c.kind == K.ALIGN_CHANGED for c in self.changes)


def _intervals_cover(intervals: list[tuple[int, int]], start: int, end: int) -> bool:
    """True when [start, end) lies inside the union of the half-open intervals."""
    pos = start
    for s, e in sorted(intervals):
        if s > pos:
            break
        pos = max(pos, e)
        if pos >= end:
            return True
    return pos >= end


def diff_composite(key: TypeKey, old: GraphView, oid: int, new: GraphView, nid: int) -> TypeDiff:
    """Member-level changes of a struct/union (anonymous members inlined)."""
    ot, nt = old.graph[oid], new.graph[nid]
    diff = TypeDiff(key, oid, nid, old_size=ot.size, new_size=nt.size)
    out = diff.changes
    oflat, nflat = old.flat(oid), new.flat(nid)
    omap = {m.path: m for m in oflat}
    nmap = {m.path: m for m in nflat}
    removed = [m for m in oflat if m.path not in nmap]
    added = [m for m in nflat if m.path not in omap]

    # A removed and an added member at the same place with the same layout: a rename.
    renamed: set[str] = set()
    for a in added:
        for r in removed:
            if (r.path not in renamed and r.bit_offset == a.bit_offset and r.bit_size == a.bit_size
                    and r.size == a.size and old.layout(r.type_id) == new.layout(a.type_id)):
                renamed.update((r.path, a.path))
                out.append(Change(K.MEMBER_RENAMED, a.path, r.path, a.path, layout_identical=True,
                                  old_bit_offset=r.bit_offset, new_type_id=a.type_id,
                                  detail=f"{r.path} renamed to {a.path}"))
                break
    removed = [m for m in removed if m.path not in renamed]
    added = [m for m in added if m.path not in renamed]

    # Reserve (arrays, bitfields) that shrank inside its old place to make room for new members.
    common = [(omap[m.path], m) for m in nflat if m.path in omap]
    shrunk: dict[str, FlatMember] = {}
    for o, n in common:
        if (_same_reserve_kind(o, n) and o.bit_offset <= n.bit_offset
                and n.bit_end <= o.bit_end and (o.bit_offset, o.bit_end) != (n.bit_offset, n.bit_end)):
            shrunk[n.path] = n
    new_occupied = [(m.bit_offset, m.bit_end) for m in added]
    old_data_end = max((m.bit_end for m in oflat), default=0)

    for o, n in common:
        if _made_flexible(o, n):
            out.append(Change(K.ARRAY_MADE_FLEXIBLE, n.path, _array_spelling(old, o), _array_spelling(new, n),
                              old_bit_offset=o.bit_offset, new_type_id=n.type_id))
            continue
        if n.path in shrunk:
            taken = any(s < o.bit_end and e > o.bit_offset for s, e in new_occupied)
            out.append(Change(K.RESERVED_SHRUNK if taken else K.MEMBER_SIZE_CHANGED, n.path,
                              _extent(o), _extent(n), old_bit_offset=o.bit_offset, new_type_id=n.type_id,
                              detail="to make room for new members" if taken else ""))
            continue
        if o.ref != n.ref:
            same_place = (o.bit_offset, o.bit_size, o.size) == (n.bit_offset, n.bit_size, n.size)
            identical = same_place and old.layout(o.type_id) == new.layout(n.type_id)
            so, sn = old.signedness(o.type_id), new.signedness(n.type_id)
            out.append(Change(K.MEMBER_TYPE_CHANGED, n.path, old.spelled(o.type_id), new.spelled(n.type_id),
                              layout_identical=identical,
                              signedness_only=identical and so is not None and sn is not None and so != sn,
                              old_bit_offset=o.bit_offset, new_type_id=n.type_id,
                              detail=f"its size changed from {o.size} to {n.size} bytes" if o.size != n.size else ""))
        elif o.is_bitfield or n.is_bitfield:
            if (o.bit_offset, o.bit_size) != (n.bit_offset, n.bit_size):
                out.append(Change(K.BITFIELD_CHANGED, n.path, _extent(o), _extent(n),
                                  old_bit_offset=o.bit_offset, new_type_id=n.type_id))
            continue
        elif o.size != n.size or o.elem_size != n.elem_size:
            flexible = o.size == n.size
            out.append(Change(K.ARRAY_ELEMENT_SIZE_CHANGED if flexible else K.MEMBER_SIZE_CHANGED, n.path,
                              o.elem_size if flexible else o.size, n.elem_size if flexible else n.size,
                              old_bit_offset=o.bit_offset, new_type_id=n.type_id))
        if o.bit_offset != n.bit_offset:
            out.append(Change(K.MEMBER_OFFSET_CHANGED, n.path, o.bit_offset // 8, n.bit_offset // 8,
                              old_bit_offset=o.bit_offset, new_type_id=n.type_id))
    _mark_moves(out, common)

    for r in removed:
        covered = nt.size == ot.size and _intervals_cover(new_occupied, r.bit_offset, r.bit_end)
        out.append(Change(K.MEMBER_REPLACED if covered else K.MEMBER_REMOVED, r.path, _extent(r), None,
                          old_bit_offset=r.bit_offset,
                          detail="its space is taken by new members" if covered else ""))
    for a in added:
        where, near = _where_added(a, oflat, nmap, {r.path for r in removed}, shrunk, 8 * ot.size)
        out.append(Change(K.MEMBER_ADDED, a.path, None, _extent(a), where=where, old_bit_offset=a.bit_offset,
                          new_type_id=a.type_id, detail=", ".join(near)))

    if ot.size != nt.size:
        out.append(Change(K.SIZE_CHANGED, None, ot.size, nt.size, old_bit_offset=old_data_end))
    oa, na = old.graph.align_of(oid), new.graph.align_of(nid)
    if oa != na:
        out.append(Change(K.ALIGN_CHANGED, None, oa, na, old_bit_offset=old_data_end))
    return diff


def _same_reserve_kind(o: FlatMember, n: FlatMember) -> bool:
    """Reserve can shrink in two ways: a bitfield of the same type, an array of the same element type."""
    if o.bit_size and n.bit_size:
        return o.ref == n.ref
    return o.ref[0] == "[]" == n.ref[0] and o.ref[2] == n.ref[2]


def _mark_moves(out: list[Change], common: list[tuple[FlatMember, FlatMember]]) -> None:
    """Offset changes that also change declaration order are moves, not shifts.

    Order only means something among members of one aggregate: a member of a union branch that
    shifts past members of another branch has not been reordered.
    """
    groups: dict[tuple[tuple[str, ...], tuple[str, ...]], list[tuple[FlatMember, FlatMember]]] = {}
    for o, n in common:
        groups.setdefault((o.chain, n.chain), []).append((o, n))
    moved: set[str] = set()
    for pairs in groups.values():
        old_order = [o.path for o, _ in sorted(pairs, key=lambda p: (p[0].bit_offset, p[0].index))]
        new_order = [n.path for _, n in sorted(pairs, key=lambda p: (p[1].bit_offset, p[1].index))]
        moved |= {p for i, p in enumerate(new_order) if old_order.index(p) != i}
    if not moved:
        return
    for i, c in enumerate(out):
        if c.kind == K.MEMBER_OFFSET_CHANGED and c.member in moved:
            out[i] = Change(K.MEMBER_MOVED, c.member, c.old, c.new, old_bit_offset=c.old_bit_offset,
                            new_type_id=c.new_type_id)


def _extent(m: FlatMember) -> dict[str, int]:
    if m.is_bitfield:
        return {"bit_offset": m.bit_offset, "bit_size": m.bit_size}
    return {"offset": m.bit_offset // 8, "size": m.size}


def _where_added(a: FlatMember, oflat: tuple[FlatMember, ...], nmap: Mapping[str, FlatMember], gone: set[str],
                 shrunk: Mapping[str, FlatMember], old_size_bits: int) -> tuple[Placement, tuple[str, ...]]:
    """Where a new member went, and the old members whose storage it overlaps.

    An old member is in its way only if both hold values at once in NEW (their innermost common
    aggregate is a struct): a member wrapped into an anonymous union beside new members shares
    its storage with them, it is not displaced. Removed members and the freed part of a shrunk
    reserve are space it may take.
    """
    overlapping = [o for o in oflat if o.bit_offset < a.bit_end and o.bit_end > a.bit_offset]
    aliased = tuple(o.path for o in overlapping if o.path in nmap and _aliases(a, o, nmap[o.path]))

    def frees(o: FlatMember) -> bool:
        if o.path in gone:
            return True
        kept = shrunk.get(o.path)
        return kept is not None and not (kept.bit_offset < a.bit_end and kept.bit_end > a.bit_offset)

    def coexists(o: FlatMember) -> bool:
        now = nmap.get(o.path)
        return a.coexists(now if now is not None else o)

    clashes = [o for o in overlapping if coexists(o)]
    blocking = [o for o in clashes if not frees(o)]
    if blocking:
        # A blocking member absent under its old path was renamed in place (removed ones free their
        # storage): it did not move, so the new member overlaps it.
        moved = all((now := nmap.get(o.path)) is not None and now.bit_offset != o.bit_offset for o in blocking)
        return (Placement.INSERTED if moved else Placement.OVERLAPS), tuple(o.path for o in blocking)
    # Old members now declared after it that moved: it pushed them along, even where its own bytes
    # fall in old padding (`__u8 a; __u8 b; __u32 c` -> `__u8 a; __u16 new; __u8 b; __u32 c`).
    displaced = tuple(o.path for o in oflat
                      if o.path not in shrunk and (now := nmap.get(o.path)) is not None and now.index > a.index
                      and now.bit_offset != o.bit_offset and a.coexists(now))
    if displaced:
        return Placement.INSERTED, displaced
    if a.bit_end > old_size_bits:
        return Placement.APPENDED, aliased  # past the old end: the growth rule judges it
    if clashes:
        return Placement.IN_RESERVED, tuple(o.path for o in clashes)
    return (Placement.UNION, aliased) if overlapping else (Placement.IN_HOLE, ())


def _aliases(a: FlatMember, old: FlatMember, now: FlatMember) -> bool:
    """The new member shares storage by design with an old one: alternatives in a union that either
    holds the old member directly or was wrapped around it in NEW."""
    return not a.coexists(now) and (now.chain != old.chain or a.chain[:len(now.chain)] == now.chain)


def _array_spelling(view: GraphView, m: FlatMember) -> str:
    """`__u8 data[1]`, `__u8 data[]`: a zero count is spelled as the flexible array it acts as."""
    g = view.graph
    array = g[g.strip(m.type_id)]
    count = f"{array.nelems}" if array.nelems else ""
    return f"{view.spelled(array.ref)} {m.path.rsplit('.', 1)[-1]}[{count}]"


def _made_flexible(o: FlatMember, n: FlatMember) -> bool:
    """A one-element array at the same offset became a flexible array of the same element type (a
    zero-length one was already described as the flexible array it acts as)."""
    return (o.ref[0] == "[]" == n.ref[0] and o.ref[2] == n.ref[2] and o.ref[1] == 1 and n.ref[1] == 0
            and o.bit_offset == n.bit_offset and not (o.bit_size or n.bit_size))


def diff_enum(key: TypeKey, old: GraphView, oid: int, new: GraphView, nid: int) -> TypeDiff:
    """Enumerator and size/signedness changes of an enum."""
    ot, nt = old.graph[oid], new.graph[nid]
    diff = TypeDiff(key, oid, nid, old_size=ot.size, new_size=nt.size)
    out = diff.changes
    ovals = {e.name: e.value for e in ot.enumerators}
    nvals = {e.name: e.value for e in nt.enumerators}
    gone = [n for n in ovals if n not in nvals]
    fresh = [n for n in nvals if n not in ovals]
    for name in list(gone):
        same_value = [f for f in fresh if nvals[f] == ovals[name]]
        if len(same_value) == 1 and list(ovals.values()).count(ovals[name]) == 1:
            out.append(Change(K.ENUMERATOR_RENAMED, same_value[0], name, same_value[0], layout_identical=True))
            gone.remove(name)
            fresh.remove(same_value[0])
    out += [Change(K.ENUMERATOR_REMOVED, n, ovals[n], None) for n in gone]
    out += [Change(K.ENUMERATOR_ADDED, n, None, nvals[n]) for n in fresh]
    out += [Change(K.ENUMERATOR_VALUE_CHANGED, n, v, nvals[n]) for n, v in ovals.items()
            if n in nvals and nvals[n] != v]
    if ot.size != nt.size:
        out.append(Change(K.ENUM_SIZE_CHANGED, None, ot.size, nt.size))
    if ot.signed != nt.signed:
        out.append(Change(K.ENUM_SIGNEDNESS_CHANGED, None, ot.signed, nt.signed, signedness_only=True,
                          layout_identical=True))
    return diff


def diff_typedef(key: TypeKey, old: GraphView, oid: int, new: GraphView, nid: int) -> TypeDiff:
    """A typedef now names another type."""
    ot, nt = old.graph[oid], new.graph[nid]
    diff = TypeDiff(key, oid, nid, old_size=old.size(oid), new_size=new.size(nid))
    identical = old.layout(ot.ref) == new.layout(nt.ref)
    so, sn = old.signedness(ot.ref), new.signedness(nt.ref)
    detail = f"its size changed from {diff.old_size} to {diff.new_size} bytes" if diff.size_changed else ""
    diff.changes.append(Change(K.TYPEDEF_RETARGETED, None, old.spelled(ot.ref), new.spelled(nt.ref),
                               layout_identical=identical, signedness_only=identical and so != sn,
                               new_type_id=nt.ref, detail=detail))
    oa, na = old.graph.align_of(oid), new.graph.align_of(nid)
    if oa != na:
        diff.changes.append(Change(K.ALIGN_CHANGED, None, oa, na))
    return diff


def diff_func(key: TypeKey, old: GraphView, oid: int, new: GraphView, nid: int) -> TypeDiff:
    """A BTF function whose prototype changed."""
    op, np_ = old.graph[old.graph[oid].ref], new.graph[new.graph[nid].ref]
    diff = TypeDiff(key, oid, nid)
    identical = old.layout(old.graph[oid].ref) == new.layout(new.graph[nid].ref)
    old_text = old.spelled(old.graph[oid].ref)
    new_text = new.spelled(new.graph[nid].ref)
    detail = (f"it now takes {len(np_.params)} parameters instead of {len(op.params)}"
              if len(op.params) != len(np_.params) else "")
    diff.changes.append(Change(K.FUNC_PROTO_CHANGED, None, old_text, new_text, layout_identical=identical,
                               detail=detail))
    return diff


def diff_pair(key: TypeKey, old: GraphView, oid: int, new: GraphView, nid: int) -> TypeDiff | None:
    """Raw changes of a matched pair, or None when their signatures agree."""
    if old.signature(oid) == new.signature(nid):
        return None
    k = old.graph[oid].kind
    nk = new.graph[nid].kind
    if k in COMPOSITE_KINDS and nk in COMPOSITE_KINDS:
        return diff_composite(key, old, oid, new, nid)
    if k in ENUM_KINDS and nk in ENUM_KINDS:
        return diff_enum(key, old, oid, new, nid)
    if k == Kind.TYPEDEF:
        return diff_typedef(key, old, oid, new, nid)
    if k == Kind.FUNC:
        return diff_func(key, old, oid, new, nid)
    return None


def diff_constants(old: Mapping[str, Constant], new: Mapping[str, Constant]) -> list[Change]:
    """`#define` constants added, removed or changed in value."""
    out: list[Change] = []
    for name in sorted(old.keys() | new.keys()):
        o, n = old.get(name), new.get(name)
        if o is None and n is not None:
            out.append(Change(K.CONSTANT_ADDED, name, None, n.value))
        elif n is None and o is not None:
            out.append(Change(K.CONSTANT_REMOVED, name, o.value, None))
        elif o is not None and n is not None and o.value != n.value:
            out.append(Change(K.CONSTANT_VALUE_CHANGED, name, o.value, n.value))
    return out
