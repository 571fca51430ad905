"""Compare our layout (JSON numbers and pahole-style text) with pahole's output for the same type."""

from __future__ import annotations

from abiguard.model import TypeGraph
from abiguard.report.layout import build_layout, layout_json, layout_text

from .pahole_text import PaholeType, parse

# Summary lines pahole prints for BTF that we print the same way. ("forced alignments" and the
# __aligned__ attributes are pahole's guesses from offsets; we do not guess, so they are not compared.)
COMPARED_STATS = ("size", "sum members", "sum bitfield members", "padding", "paddings", "bit_padding",
                  "last cacheline")


def flatten_json(members: list[dict], base: int = 0, depth: int = 1) -> list[tuple]:
    """Our JSON members in pahole's printed order (an inline member's contents, then its closing line),
    as (depth, name, offset, bit-in-unit, bit_size, size) with pahole's storage-unit offsets."""
    out: list[tuple] = []
    for m in members:
        if "members" in m:
            out.extend(flatten_json(m["members"], m["offset"], depth + 1))
        if m["bit_size"]:
            size = m["size"]
            # pahole shows a bitfield at its storage unit: type-size aligned within the enclosing struct
            rel = m["bit_offset"] - 8 * base
            unit = base + rel // (8 * size) * size
            out.append((depth, m["name"], unit, m["bit_offset"] - 8 * unit, m["bit_size"], size))
        else:
            out.append((depth, m["name"], m["offset"], None, None, m["size"]))
    return out


def pahole_rows(p: PaholeType) -> list[tuple]:
    return [(m.depth, m.name, m.offset, m.bit, m.bit_size, m.size) for m in p.members]


def compare_with_pahole(graph: TypeGraph, name: str, pahole: PaholeType) -> None:
    """Assert our JSON numbers and our text's holes/padding/summary lines equal pahole's."""
    lay = build_layout(graph, graph.resolve(f"{pahole.keyword} {name}"))
    data = layout_json(lay, graph)
    if pahole.keyword == "struct":
        assert data["size"] == int(pahole.stats["size"].split(",")[0]), name
    assert flatten_json(data["members"]) == pahole_rows(pahole), name
    ours = parse(layout_text(lay, graph))
    assert len(ours) == 1, name
    assert ours[0].notes == pahole.notes, name
    assert pahole_rows(ours[0]) == pahole_rows(pahole), name
    if pahole.keyword == "union":
        return  # pahole prints no summary for a union; ours still gives size and alignment
    for key in COMPARED_STATS:
        assert ours[0].stats.get(key) == pahole.stats.get(key), (name, key)
