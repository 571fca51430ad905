"""Old and new member layouts of the types a diff reports on, for reports that draw them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..model import COMPOSITE_KINDS, Kind
from .shape import GraphView


@dataclass(frozen=True)
class MemberBox:
    """One member as it lies in its outermost type: where, how many bits, of which C type."""

    name: str  # path as C code names it ("a", "u.b" through anonymous aggregates)
    bit_offset: int
    bit_size: int  # bits it occupies: the bitfield width, else 8 * the size of its type
    type: str

    @property
    def offset(self) -> int:
        return self.bit_offset // 8

    @property
    def size(self) -> int:
        """Bytes it covers, rounded up (a bitfield covers at least one)."""
        return max(1, (self.bit_offset + self.bit_size + 7) // 8 - self.offset)


@dataclass(frozen=True)
class TypeLayout:
    """A struct or union: total size and every member in declaration order."""

    keyword: str  # "struct" | "union"
    size: int
    members: tuple[MemberBox, ...]


def type_layout(view: GraphView, type_id: int) -> TypeLayout | None:
    """The layout of a struct/union (through typedefs and qualifiers), None for any other type."""
    g = view.graph
    tid = g.strip(type_id)
    t = view.types[tid]
    if t.kind not in COMPOSITE_KINDS:
        return None
    members = tuple(
        MemberBox(m.path, m.bit_offset, m.bit_size or 8 * m.size, view.spelled(m.type_id)) for m in view.flat(tid)
    )
    return TypeLayout("union" if t.kind == Kind.UNION else "struct", view.size(tid), members)


LayoutPair = tuple[TypeLayout | None, TypeLayout | None]


def layouts_for(names: Iterable[str], old: GraphView, new: GraphView,
                pairs: dict[str, tuple[int, int]]) -> dict[str, LayoutPair]:
    """Old and new layouts of the named types (display names) that are structs or unions on either side."""
    out: dict[str, LayoutPair] = {}
    for name in sorted(set(names)):
        ids = pairs.get(name)
        if ids is None:
            continue
        pair = (type_layout(old, ids[0]), type_layout(new, ids[1]))
        if pair != (None, None):
            out[name] = pair
    return out
