"""The layout renderer on small hand-built graphs: the branches compiled objects rarely reach."""

from __future__ import annotations

import json

import pytest

from abiguard.model import VOID, IntEncoding, Kind, Member, Type, TypeGraph, get_target
from abiguard.report.layout import build_layout, render_layout
from abiguard.report.users import find_users, render_users

from .pahole_text import member_name, parse


def _graph(arch: str = "x86_64") -> TypeGraph:
    types = [
        VOID,
        Type(Kind.INT, "int", 4, int_bits=32, encoding=IntEncoding.SIGNED),  # 1
        Type(Kind.INT, "long long", 8, int_bits=64, encoding=IntEncoding.SIGNED),  # 2
        Type(Kind.STRUCT, "late", 16, members=(Member("x", 1, 32), Member("y", 2, 64))),  # 3: pre-hole
        Type(Kind.FWD, "opaque"),  # 4
        Type(Kind.TYPEDEF, "inner_t", ref=3),  # 5
        Type(Kind.CONST, ref=5),  # 6
        Type(Kind.TYPEDEF, "outer_t", ref=6),  # 7: typedef of const typedef
        Type(Kind.PTR, ref=4),  # 8
        Type(Kind.STRUCT, "holder", 24, members=(Member("p", 8, 0), Member("l", 5, 64))),  # 9
        Type(Kind.ENUM, "", 4),  # 10: anonymous enum
    ]
    return TypeGraph(get_target(arch), types, source="hand-built")


def test_leading_hole_is_reported_before_the_first_member() -> None:
    g = _graph()
    text = render_layout([(g, g.resolve("struct late"))])
    lines = text.splitlines()
    assert lines[1:4] == ["", "\t/* XXX 4 bytes hole, try to pack */", ""]
    assert "\t/* sum members: 12, holes: 1, sum holes: 4 */" in lines


def test_typedef_chain_and_derived_alignment() -> None:
    g = _graph()
    text = render_layout([(g, g.resolve("outer_t"))])
    assert text.splitlines()[:3] == ["typedef const inner_t outer_t;", "typedef struct late inner_t;", "struct late {"]
    data = json.loads(render_layout([(g, g.resolve("outer_t"))], "json"))
    assert (data["kind"], data["type"], data["size"], data["align"], data["align_derived"]) == (
        "typedef", "const inner_t", 16, 8, True)


def test_forward_declaration_and_scalar() -> None:
    g = _graph()
    assert "declared only" in render_layout([(g, g.resolve("opaque"))])
    data = json.loads(render_layout([(g, 2)], "json"))
    assert data == {"arch": "x86_64", "name": "long long", "kind": "int", "size": 8, "align": 8,
                    "align_derived": True}


def test_i386_derives_four_byte_alignment_for_long_long() -> None:
    g = _graph("i386")
    assert build_layout(g, 2).align == 4


def test_several_arches_give_a_list_and_one_block_each() -> None:
    a, b = _graph("x86_64"), _graph("i386")
    data = json.loads(render_layout([(a, 9), (b, 9)], "json"))
    assert [d["arch"] for d in data] == ["x86_64", "i386"]
    text = render_layout([(a, 9), (b, 9)])
    assert text.count("struct holder {") == 2 and "/* ===== i386 ===== */" in text


def test_expand_goes_through_typedefs() -> None:
    g = _graph()
    expanded = render_layout([(g, 9)], expand=True)
    assert "\n\t/* inner_t */ struct late {\n" in expanded and "\n\t} l;  " in expanded
    data = json.loads(render_layout([(g, 9)], "json", expand=True))
    assert [(m["name"], m["offset"]) for m in data["members"][1]["members"]] == [("x", 12), ("y", 16)]


def test_our_text_parses_back_to_our_json() -> None:
    g = _graph()
    parsed = parse(render_layout([(g, 9)], expand=True))[0]
    assert [(m.depth, m.name, m.offset, m.size) for m in parsed.members] == [
        (1, "p", 0, 8), (2, "x", 12, 4), (2, "y", 16, 8), (1, "l", 8, 16)
    ]


@pytest.mark.parametrize(
    ("decl", "name"),
    [("void (*const fn)(int)", "fn"), ("char buf[4][2]", "buf"), ("struct a * * pp", "pp"), ("} x", "x"),
     ("}", ""), ("unsigned int bits:3", "bits"), ("int a __attribute__((__aligned__(64)))", "a")],
)
def test_pahole_declaration_parser(decl: str, name: str) -> None:
    assert member_name(decl)[0] == name


def test_users_of_an_unused_type_and_several_arches() -> None:
    a, b = _graph("x86_64"), _graph("i386")
    text = render_users([find_users(a, 4), find_users(b, 4)])
    assert text.splitlines()[0] == "== x86_64 =="
    assert "struct opaque: reached only through a pointer by 1 type(s):" in text
    assert "  struct holder: holder.p (via pointer)" in text
