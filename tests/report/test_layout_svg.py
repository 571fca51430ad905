"""The layout picture: well-formed SVG, boxes at scaled offsets, changed members marked."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from abiguard.compare.layouts import MemberBox, TypeLayout
from abiguard.report.layout_svg import render_svg

NS = {"s": "http://www.w3.org/2000/svg"}
OLD = TypeLayout("struct", 16, (MemberBox("a", 0, 64, "u64"), MemberBox("flags", 64, 3, "unsigned int"),
                                MemberBox("gone", 96, 32, "int")))
NEW = TypeLayout("struct", 24, (MemberBox("a", 0, 64, "u64"), MemberBox("fresh", 64, 64, "u64"),
                                MemberBox("flags", 128, 5, "unsigned int")))


def _boxes(svg: str) -> dict[tuple[str, str], ET.Element]:
    root = ET.fromstring(svg)
    return {(r.get("data-side", ""), r.get("data-member", "")): r
            for r in root.iterfind(".//s:rect[@data-member]", NS)}


def test_members_are_boxes_at_scaled_offsets_with_changes_marked() -> None:
    boxes = _boxes(render_svg("struct <t>", "x86_64", OLD, NEW, ("inner", "t.x")))
    classes = {k: (v.get("class") or "").split()[1] for k, v in boxes.items()}
    assert classes == {("old", "a"): "same", ("old", "flags"): "moved", ("old", "gone"): "removed",
                       ("new", "a"): "same", ("new", "fresh"): "added", ("new", "flags"): "moved"}
    top = float(boxes[("new", "a")].get("y", "0"))
    scale = (float(boxes[("new", "fresh")].get("y", "0")) - top) / 8
    assert scale > 0
    assert float(boxes[("new", "flags")].get("y", "0")) - top == scale * 16  # offset 16, same scale
    assert boxes[("old", "flags")].get("data-size") == "1"  # a 3-bit field covers one byte


def test_a_type_on_one_side_only_draws_that_side() -> None:
    svg = render_svg("struct added", "arm", None, NEW)
    boxes = _boxes(svg)
    assert {side for side, _ in boxes} == {"new"} and "old: absent" in svg


def test_names_are_escaped() -> None:
    svg = render_svg("struct <x>", "x86_64", OLD, NEW, ('a"b', "c<d"))
    root = ET.fromstring(svg)  # parses: nothing unescaped
    assert root.get("data-type") == "struct <x>"
    assert [g.get("data-chain") for g in root.iterfind(".//s:rect[@data-chain]", NS)] == ['a"b', "c<d"]
