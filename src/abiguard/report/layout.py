"""pahole-style layout of one type: member offsets, holes, padding, cachelines; as text or JSON.

Offsets come straight from the TypeGraph (BTF or libclang); this module only does arithmetic on
them. Holes follow pahole's accounting (bitfields live in storage units of their type's size) so
that `abiguard layout` and `pahole -C` agree line for line on holes and padding.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..errors import UnknownName
from ..model import COMPOSITE_KINDS, ENUM_KINDS, MODIFIER_KINDS, Kind, TypeGraph

CACHELINE = 64
# Column widths as pahole prints them: type column, then name column, then the offset comment.
_TYPE_COL = 26
_NAME_COL = 23
_TYPE_TAG = re.compile(r'__attribute__\(\(btf_type_tag\("[^"]*"\)\)\)\s?')


@dataclass(frozen=True, slots=True)
class Row:
    """One member; offsets are from the start of the outermost type, as pahole prints them."""

    name: str
    type_id: int
    type_text: str  # C spelling of the member's type, without the member name
    bit_offset: int  # absolute bit offset of the member's first bit
    bit_size: int  # bitfield width, 0 for ordinary members
    size: int  # bytes of the member's type (the storage unit for bitfields)
    unit_offset: int  # byte offset pahole shows: the bitfield's storage unit, else the member's byte
    hole: int = 0  # bytes of hole after this member
    bit_hole: int = 0  # bits of hole after this member
    padding_inside: int = 0  # trailing padding of the member's struct type ("last struct has ...")
    inner: Block | None = None  # the member's composite shown inline (anonymous, or --expand)
    decl: tuple[str, str] = ("", "")  # pahole's type column and name column: ("char", "cb[48]")

    @property
    def offset(self) -> int:
        """Byte holding the member's first bit."""
        return self.bit_offset // 8

    @property
    def unit_bit(self) -> int:
        """Bit position inside the storage unit, pahole's `offset:BIT`."""
        return self.bit_offset - 8 * self.unit_offset


@dataclass(frozen=True, slots=True)
class Block:
    """A struct or union body with pahole's hole accounting (holes only exist in structs)."""

    type_id: int
    keyword: str  # "struct" | "union"
    name: str
    size: int
    rows: tuple[Row, ...]
    pre_hole: int = 0
    pre_bit_hole: int = 0
    padding: int = 0
    bit_padding: int = 0
    nr_holes: int = 0
    nr_bit_holes: int = 0

    @property
    def sum_bytes(self) -> int:
        return sum(r.size for r in self.rows if not r.bit_size)

    @property
    def sum_bits(self) -> int:
        return sum(r.bit_size for r in self.rows)

    @property
    def sum_holes(self) -> int:
        return self.pre_hole + sum(r.hole for r in self.rows if r.hole > 0)

    @property
    def sum_bit_holes(self) -> int:
        return self.pre_bit_hole + sum(r.bit_hole for r in self.rows if r.bit_hole > 0)

    @property
    def paddings(self) -> list[int]:
        """Trailing paddings of struct members ("XXX last struct has N bytes of padding")."""
        return [r.padding_inside for r in self.rows if r.padding_inside > 0]


@dataclass(frozen=True, slots=True)
class Layout:
    """Everything `abiguard layout` shows for one type on one arch."""

    arch: str
    type_id: int
    name: str  # as the user would spell it: `struct foo`, `foo_t`
    kind: str  # struct | union | enum | typedef | the kind's name for other types
    size: int
    align: int
    align_derived: bool
    typedef_chain: tuple[str, ...] = ()  # `typedef struct pt_regs bpf_user_pt_regs_t;` lines
    body: Block | None = None
    enum_signed: bool = False
    enumerators: tuple[tuple[str, int], ...] = ()
    members_total: int = 0


# --- building ---------------------------------------------------------------------------------


def type_text(graph: TypeGraph, type_id: int, declarator: str = "") -> str:
    """C spelling of a type; BTF type tags (`__rcu`, `__user`) do not change layout and are left out."""
    return _TYPE_TAG.sub("", graph.c_name(type_id, declarator)).strip()


def _element(graph: TypeGraph, type_id: int, typedefs: bool) -> int:
    """The type behind modifiers and arrays (and typedefs when asked)."""
    while True:
        type_id = graph.strip(type_id, typedefs=typedefs)
        if graph[type_id].kind != Kind.ARRAY:
            return type_id
        type_id = graph[type_id].ref


class _Builder:
    """Builds Blocks for one graph, caching the trailing padding of struct types it meets."""

    def __init__(self, graph: TypeGraph, expand: bool) -> None:
        self.graph = graph
        self.expand = expand
        self._padding: dict[int, int] = {}

    def block(self, type_id: int, base_bits: int = 0) -> Block:
        g = self.graph
        t = g[type_id]
        is_struct = t.kind == Kind.STRUCT
        rows: list[Row] = []
        for m in t.members:
            size = g.size_of(m.type)
            rel_unit = _unit(m.bit_offset, m.bit_size, size)
            inner = None
            # pahole shows anonymous structs/unions inline, also as array elements (offsets then
            # are those of the first element); --expand does the same for named ones
            shown = _element(g, m.type, typedefs=False)
            target = _element(g, m.type, typedefs=True) if self.expand else shown
            anonymous = g[shown].kind in COMPOSITE_KINDS and not g[shown].name
            if g[target].kind in COMPOSITE_KINDS and (anonymous or self.expand):
                inner = self.block(target, base_bits + m.bit_offset)
            # pahole notes a member struct's tail padding inside structs only, never in a union
            padding_inside = self.padding_of(m.type) if is_struct and g[m.type].kind == Kind.STRUCT else 0
            rows.append(
                Row(
                    name=m.name,
                    type_id=m.type,
                    type_text=type_text(g, m.type),
                    bit_offset=base_bits + m.bit_offset,
                    bit_size=m.bit_size,
                    size=size,
                    unit_offset=base_bits // 8 + rel_unit,
                    padding_inside=padding_inside,
                    inner=inner,
                    decl=_decl_parts(g, m.type, m.name),
                )
            )
        keyword = "union" if t.kind == Kind.UNION else "struct"
        block = Block(type_id, keyword, t.name, t.size, tuple(rows))
        return _with_holes(block, base_bits) if is_struct else block

    def padding_of(self, type_id: int) -> int:
        """Trailing padding of a struct type, counted as pahole counts it."""
        cached = self._padding.get(type_id)
        if cached is None:
            g = self.graph
            rows = []
            for m in g[type_id].members:
                size = g.size_of(m.type)
                unit = _unit(m.bit_offset, m.bit_size, size)
                rows.append(Row(m.name, m.type, "", m.bit_offset, m.bit_size, size, unit))
            cached = _with_holes(Block(type_id, "struct", "", g[type_id].size, tuple(rows)), 0).padding
            self._padding[type_id] = cached
        return cached


def _unit(bit_offset: int, bit_size: int, size: int) -> int:
    """Byte offset pahole shows: a bitfield sits in a storage unit of its type's size, aligned to it."""
    if bit_size and size:
        return bit_offset // (8 * size) * size
    return bit_offset // 8


def _with_holes(block: Block, base_bits: int) -> Block:
    """Attach holes and padding to a struct body, counting as pahole does.

    Bit positions are relative to the struct. A bitfield's storage unit ends `size` bytes after its
    unit offset; bits left unused in a unit before the next member are a bit hole, whole bytes
    skipped before a member are a byte hole.
    """
    base_unit = base_bits // 8
    holes: list[tuple[int, int]] = []  # (bytes, bits) before each member
    last_seen = 0  # first bit not yet accounted for
    in_bitfield = False
    unit_end = block.size * 8
    unit_bits = 0
    for r in block.rows:
        start = r.bit_offset - base_bits
        width = r.bit_size or r.size * 8
        end = start + width
        bits = nbytes = 0
        if in_bitfield:
            stop = min(start, unit_end)
            bits = stop - last_seen
            last_seen = stop
        if r.bit_size:
            unit_start = (r.unit_offset - base_unit) * 8
            if last_seen < unit_start <= start:
                nbytes = unit_start // 8 - last_seen // 8
                last_seen = unit_start
            bits += start - last_seen
        else:
            nbytes = start // 8 - last_seen // 8
        last_seen = end
        if r.bit_size:
            in_bitfield = True
            this_unit = r.size * 8
            if end > unit_end or this_unit > unit_bits:
                unit_bits = this_unit
                unit_end = (r.unit_offset - base_unit) * 8 + unit_bits
                if end > unit_end:  # the bitfield borrowed bits of the previous unit and spills over
                    unit_end += unit_bits
        else:
            in_bitfield = False
            unit_bits = 0
            unit_end = end
        holes.append((nbytes, bits))
    bit_padding = 0
    if in_bitfield:
        stop = min(block.size * 8, unit_end)
        bit_padding = stop - last_seen
        last_seen = stop
    padding = block.size - last_seen // 8
    # the hole found before member i is reported after member i-1 (pahole's "XXX" after a member)
    rows = list(block.rows)
    pre_hole, pre_bit_hole = holes[0] if holes else (0, 0)
    for i in range(len(rows) - 1):
        nbytes, bits = holes[i + 1]
        rows[i] = replace(rows[i], hole=nbytes, bit_hole=bits)
    return Block(
        block.type_id,
        block.keyword,
        block.name,
        block.size,
        tuple(rows),
        pre_hole=pre_hole,
        pre_bit_hole=pre_bit_hole,
        padding=padding,
        bit_padding=bit_padding,
        nr_holes=sum(1 for b, _ in holes if b),
        nr_bit_holes=sum(1 for _, b in holes if b),
    )


def _decl_parts(graph: TypeGraph, type_id: int, name: str) -> tuple[str, str]:
    """Split a member declaration into pahole's type column and the rest: `char` | `cb[48]`."""
    if not name:
        return type_text(graph, type_id), ""
    full = type_text(graph, type_id, name)
    if full.endswith(" " + name):
        return full[: -len(name) - 1], name
    if full.endswith("*" + name):
        return full[: -len(name)], name
    # arrays and function pointers: the type column stops where the declarator begins
    cut = [i for i in (full.find("(*"), full.find(name)) if i >= 0]
    at = min(cut) if cut else len(full)
    return full[:at].rstrip(), full[at:]


def build_layout(graph: TypeGraph, type_id: int, expand: bool = False) -> Layout:
    """The Layout of `type_id` (typedefs and modifiers are shown, then followed to the real type)."""
    chain: list[str] = []
    current = type_id
    seen = 0
    while graph[current].kind in MODIFIER_KINDS or graph[current].kind == Kind.TYPEDEF:
        t = graph[current]
        if t.kind == Kind.TYPEDEF:
            chain.append(f"typedef {type_text(graph, t.ref, t.name)};")
        current = t.ref
        seen += 1
        if seen > len(graph):
            break  # a loop; graph.strip below reports it as an error
    first = graph[type_id]
    real = graph.strip(type_id)
    t = graph[real]
    name = first.name if first.kind == Kind.TYPEDEF else graph.describe(type_id)
    if first.kind not in (Kind.TYPEDEF, *COMPOSITE_KINDS, *ENUM_KINDS, Kind.FWD):
        name = type_text(graph, type_id)
    kind = "typedef" if first.kind == Kind.TYPEDEF else _kind_word(first.kind, first.kind_flag)
    layout = Layout(
        arch=graph.target.name,
        type_id=type_id,
        name=name,
        kind=kind,
        size=graph.size_of(type_id),
        align=graph.align_of(type_id),
        align_derived=graph.align_is_derived(type_id),
        typedef_chain=tuple(chain),
    )
    if t.kind in COMPOSITE_KINDS:
        body = _Builder(graph, expand).block(real)
        return replace(layout, body=body, members_total=len(t.members))
    if t.kind in ENUM_KINDS:
        enumerators = tuple((e.name, e.value) for e in t.enumerators)
        return replace(layout, enum_signed=t.signed, enumerators=enumerators)
    return layout


def _kind_word(kind: Kind, kind_flag: bool) -> str:
    if kind == Kind.FWD:
        return "union" if kind_flag else "struct"
    if kind in ENUM_KINDS:
        return "enum"
    return kind.name.lower()


# --- JSON ---------------------------------------------------------------------------------------


def layout_json(layout: Layout, graph: TypeGraph) -> dict[str, object]:
    """The JSON object for one arch.

    Member `offset` is the byte holding the member's first bit, `bit_offset` the member's absolute
    bit offset and `bit_size` its width (0 unless a bitfield) — always present. Offsets inside
    inline (anonymous or --expand) members, listed under their own "members", are from the start
    of the outermost type, as in the text view.
    """
    out: dict[str, object] = {
        "arch": layout.arch,
        "name": layout.name,
        "kind": layout.kind,
        "size": layout.size,
        "align": layout.align,
        "align_derived": layout.align_derived,
    }
    if layout.typedef_chain:
        out["type"] = type_text(graph, graph[layout.type_id].ref)
    if layout.body is not None:
        out["members"] = _rows_json(layout.body)
    if layout.kind == "enum" or graph[graph.strip(layout.type_id)].kind in ENUM_KINDS:
        out["signed"] = layout.enum_signed
        out["enumerators"] = [{"name": n, "value": v} for n, v in layout.enumerators]
    return out


def _rows_json(block: Block) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for r in block.rows:
        item: dict[str, object] = {
            "name": r.name,
            "type": r.type_text,
            "offset": r.offset,
            "size": r.size,
            "bit_offset": r.bit_offset,
            "bit_size": r.bit_size,
        }
        if r.inner is not None:
            item["members"] = _rows_json(r.inner)
        rows.append(item)
    return rows


# --- text ---------------------------------------------------------------------------------------


class _TextWriter:
    """Writes pahole's text, tracking the last cacheline boundary it announced."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.cacheline = 0

    def emit(self, depth: int, text: str) -> None:
        self.lines.append("\t" * depth + text if text else "")

    def boundary(self, depth: int, offset: int) -> None:
        line = offset // CACHELINE
        if line > self.cacheline:
            at = line * CACHELINE
            ago = offset - at
            tail = f" was {ago} byte{'s' if ago > 1 else ''} ago" if ago else ""
            self.emit(depth, f"/* --- cacheline {line} boundary ({at} bytes){tail} --- */")
            self.cacheline = line

    def body(self, block: Block, depth: int) -> None:
        union = block.keyword == "union"
        if block.pre_bit_hole > 0:
            self.emit(0, "")
            self.emit(depth, _hole_text(block.pre_bit_hole, "bit"))
        if block.pre_hole > 0:
            if block.pre_bit_hole <= 0:
                self.emit(0, "")
            self.emit(depth, _hole_text(block.pre_hole, "byte"))
        if block.pre_hole > 0 or block.pre_bit_hole > 0:
            self.emit(0, "")
        start_line = self.cacheline
        for i, r in enumerate(block.rows):
            self.row(r, depth)
            notes: list[str] = []
            if r.padding_inside > 0:
                notes.append(f"/* XXX last struct has {_plural(r.padding_inside, 'byte')} of padding */")
            if r.bit_hole > 0:
                notes.append(_hole_text(r.bit_hole, "bit"))
            if r.hole > 0:
                notes.append(_hole_text(r.hole, "byte"))
            if notes:
                self.emit(0, "")
                for note in notes:
                    self.emit(depth, note)
                if i + 1 < len(block.rows):
                    self.emit(0, "")
            if union:
                # each union member starts at the union's offset: announce boundaries afresh
                self.cacheline = start_line

    def row(self, r: Row, depth: int) -> None:
        self.boundary(depth, r.unit_offset)
        comment = _offset_comment(r)
        if r.inner is not None:
            header = r.inner.keyword + (f" {r.inner.name}" if r.inner.name else "")
            spelled = r.decl[0]
            if spelled not in (header, f"{r.inner.keyword} {{...}}"):
                header = f"/* {spelled} */ {header}"  # expanded through a typedef or qualifier
            self.emit(depth, header + " {")
            self.body(r.inner, depth + 1)
            rest = r.decl[1]
            closing = "}" + (f" {rest}" if rest else "") + ";"
            self.emit(depth, _pad(closing, _comment_col(depth)) + comment)
            return
        type_part, rest = r.decl
        if r.bit_size:
            rest += f":{r.bit_size}"
        width = max(_TYPE_COL - 8 * (depth - 1), 0)
        text = f"{type_part:<{width}} {rest};"
        self.emit(depth, _pad(text, _comment_col(depth)) + comment)


def _comment_col(depth: int) -> int:
    return max(_TYPE_COL - 8 * (depth - 1), 0) + _NAME_COL


def _pad(text: str, col: int) -> str:
    return text + " " * max(col - len(text), 1)


def _offset_comment(r: Row) -> str:
    if r.bit_size:
        return f"/* {r.unit_offset:5d}:{r.unit_bit:2d} {r.size:3d} */"
    return f"/* {r.unit_offset:5d} {r.size:5d} */"


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}{'s' if n != 1 else ''}"


def _hole_text(n: int, unit: str) -> str:
    return f"/* XXX {_plural(n, unit)} hole, try to pack */"


def _stats(layout: Layout, block: Block) -> list[str]:
    lines = [
        f"/* size: {layout.size}, cachelines: {-(-layout.size // CACHELINE)}, members: {layout.members_total} */"
    ]
    sum_holes, sum_bit_holes = block.sum_holes, block.sum_bit_holes
    if sum_holes > 0 or sum_bit_holes > 0:
        if block.sum_bytes > 0:
            text = f"/* sum members: {block.sum_bytes}"
            if sum_holes > 0:
                text += f", holes: {block.nr_holes}, sum holes: {sum_holes}"
            lines.append(text + " */")
        if block.sum_bits > 0:
            text = f"/* sum bitfield members: {block.sum_bits} bits"
            if sum_bit_holes > 0:
                text += f", bit holes: {block.nr_bit_holes}, sum bit holes: {sum_bit_holes} bits"
            else:
                text += f" ({block.sum_bits // 8} bytes)"
            lines.append(text + " */")
    if block.padding > 0:
        lines.append(f"/* padding: {block.padding} */")
    paddings = block.paddings
    if paddings:
        lines.append(f"/* paddings: {len(paddings)}, sum paddings: {sum(paddings)} */")
    if block.bit_padding > 0:
        lines.append(f"/* bit_padding: {block.bit_padding} bits */")
    if layout.size % CACHELINE:
        lines.append(f"/* last cacheline: {layout.size % CACHELINE} bytes */")
    return lines


def _align_line(layout: Layout) -> str:
    how = "derived: the source records no alignment" if layout.align_derived else "from the compiler"
    return f"/* align: {layout.align} ({how}) */"


def layout_text(layout: Layout, graph: TypeGraph) -> str:
    """pahole-style text for one arch."""
    w = _TextWriter()
    for line in layout.typedef_chain:
        w.emit(0, line)
    t = graph[graph.strip(layout.type_id)]
    if layout.body is not None:
        header = layout.body.keyword + (f" {layout.body.name}" if layout.body.name else "")
        w.emit(0, header + " {")
        w.body(layout.body, 1)
        w.emit(0, "")
        for line in _stats(layout, layout.body):
            w.emit(1, line)
        w.emit(1, _align_line(layout))
        w.emit(0, "};")
    elif t.kind in ENUM_KINDS:
        w.emit(0, f"enum {t.name} {{" if t.name else "enum {")
        width = max((len(n) for n, _ in layout.enumerators), default=0)
        for n, v in layout.enumerators:
            w.emit(1, f"{n:<{width}} = {v},")
        w.emit(0, "")
        sign = "signed" if layout.enum_signed else "unsigned"
        w.emit(1, f"/* size: {layout.size}, {sign}, enumerators: {len(layout.enumerators)} */")
        w.emit(1, _align_line(layout))
        w.emit(0, "};")
    else:
        if t.kind == Kind.FWD:
            w.emit(0, f"{layout.name};  /* declared only: no layout in this source */")
        else:
            w.emit(0, f"{type_text(graph, graph.strip(layout.type_id))};")
            w.emit(0, f"/* size: {layout.size} */")
            w.emit(0, _align_line(layout))
    return "\n".join(w.lines) + "\n"


def render_layout(
    entries: Sequence[tuple[TypeGraph, int]], fmt: str = "text", expand: bool = False
) -> str:
    """Render the layout of one type id per graph: text (one block per arch) or JSON."""
    _check_format(fmt)
    return render_layouts([(g, build_layout(g, tid, expand)) for g, tid in entries], fmt)


def render_layouts(layouts: Sequence[tuple[TypeGraph, Layout]], fmt: str = "text") -> str:
    """Render built layouts, each with its graph: text (one block per arch) or JSON."""
    _check_format(fmt)
    if fmt == "json":
        objs = [layout_json(lay, g) for g, lay in layouts]
        data: object = objs[0] if len(objs) == 1 else objs
        return json.dumps(data, indent=2) + "\n"
    parts = []
    for g, lay in layouts:
        text = layout_text(lay, g)
        if len(layouts) > 1:
            text = f"/* ===== {lay.arch} ===== */\n" + text
        parts.append(text)
    return "\n".join(parts)


def _check_format(fmt: str) -> None:
    if fmt not in ("text", "json"):
        raise UnknownName("format", f"unknown layout format '{fmt}' (known: text, json)")
