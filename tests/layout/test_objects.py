"""Layouts of clang-compiled BPF objects (little and big endian) against pahole and the compiler."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from abiguard.model import TypeGraph
from abiguard.report.layout import build_layout, layout_json, render_layout

from .conftest import LAYOUT_C, STRUCT_NAMES, UNION_NAMES, require_tool
from .oracle import compare_with_pahole
from .pahole_text import run_pahole


def _graph(path: Path) -> TypeGraph:
    from abiguard.sources.btf.reader import read_btf_file

    return read_btf_file(path)


def test_text_and_json_match_pahole(layout_object: Path) -> None:
    require_tool("pahole")
    graph = _graph(layout_object)
    pahole = run_pahole(layout_object, (*STRUCT_NAMES, *UNION_NAMES))
    assert set(pahole) == {*STRUCT_NAMES, *UNION_NAMES}
    for name in (*STRUCT_NAMES, *UNION_NAMES):
        compare_with_pahole(graph, name, pahole[name])


def _offset_asserts(graph: TypeGraph, spec: str, data: dict, prefix: str = "") -> list[str]:
    """_Static_asserts that the compiler's offsetof/sizeof equal our JSON for every named member."""
    lines = [f'_Static_assert(sizeof({spec}) == {data["size"]}, "{spec} size");']
    if spec != "struct aligned":
        # BTF records no alignment: the derived one is the natural alignment, which an
        # __attribute__((aligned)) on the type raises beyond what BTF can show
        lines.append(f'_Static_assert(_Alignof({spec}) == {data["align"]}, "{spec} align");')

    def walk(members: list[dict], path: str) -> None:
        for m in members:
            here = f"{path}.{m['name']}" if path and m["name"] else (m["name"] or path)
            if m["bit_size"] == 0 and m["name"]:
                lines.append(
                    f'_Static_assert(__builtin_offsetof({spec}, {here}) == {m["offset"]}, "{spec} {here}");'
                )
            if "members" in m:
                walk(m["members"], here)

    walk(data["members"], prefix)
    return lines


@pytest.mark.parametrize("target", ["bpf", "bpfeb"])
def test_json_offsets_equal_the_compilers(target: str, compile_c, tmp_path: Path) -> None:
    obj = compile_c(LAYOUT_C, target=target, name=f"oracle_{target}")
    graph = _graph(obj)
    asserts: list[str] = []
    for name in (*STRUCT_NAMES, *UNION_NAMES):
        spec = f"union {name}" if name in UNION_NAMES else f"struct {name}"
        data = layout_json(build_layout(graph, graph.resolve(spec)), graph)
        asserts += _offset_asserts(graph, spec, data)
    check = tmp_path / "check.c"
    check.write_text(LAYOUT_C + "\n" + "\n".join(asserts) + "\n")
    proc = subprocess.run([require_tool("clang"), "-target", target, "-fsyntax-only", str(check)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert len(asserts) >= 55  # every struct contributed its members


def test_exact_json_values(layout_object: Path) -> None:
    graph = _graph(layout_object)
    arch = graph.target.name
    holes = json.loads(render_layout([(graph, graph.resolve("holes_t"))], "json"))
    assert holes == {
        "arch": arch, "name": "holes_t", "kind": "typedef", "size": 32, "align": 8, "align_derived": True,
        "type": "struct holes",
        "members": [
            {"name": "a", "type": "char", "offset": 0, "size": 1, "bit_offset": 0, "bit_size": 0},
            {"name": "b", "type": "u64", "offset": 8, "size": 8, "bit_offset": 64, "bit_size": 0},
            {"name": "c", "type": "u16", "offset": 16, "size": 2, "bit_offset": 128, "bit_size": 0},
            {"name": "d", "type": "u32", "offset": 20, "size": 4, "bit_offset": 160, "bit_size": 0},
            {"name": "e", "type": "char", "offset": 24, "size": 1, "bit_offset": 192, "bit_size": 0},
        ],
    }
    packed = json.loads(render_layout([(graph, graph.resolve("struct packed"))], "json"))
    assert (packed["size"], packed["align"]) == (17, 1)
    assert [(m["name"], m["offset"], m["bit_offset"], m["bit_size"]) for m in packed["members"]] == [
        ("a", 0, 0, 0), ("b", 1, 8, 0), ("c", 5, 40, 0), ("d", 7, 56, 0), ("e", 15, 120, 3), ("f", 15, 123, 12)
    ]
    flex = json.loads(render_layout([(graph, graph.resolve("struct flex"))], "json"))
    assert flex["size"] == 8 and flex["members"][-1] == {
        "name": "data", "type": "u64 [0]", "offset": 8, "size": 0,
        "bit_offset": 64, "bit_size": 0,
    }
    # enumerators as BTF records them (clang 14 writes no signedness and truncates to 32 bits):
    # bpftool's dump of the same object is the oracle
    dump = _bpftool_enums(layout_object)
    for name in ("sign", "wide"):
        data = json.loads(render_layout([(graph, graph.resolve(f"enum {name}"))], "json"))
        signed, size, values = dump[name]
        assert (data["kind"], data["signed"], data["size"]) == ("enum", signed, size)
        assert [(e["name"], e["value"]) for e in data["enumerators"]] == values


def _bpftool_enums(path: Path) -> dict[str, tuple[bool, int, list[tuple[str, int]]]]:
    out = subprocess.run([require_tool("bpftool"), "btf", "dump", "file", str(path)],
                         capture_output=True, text=True, check=True).stdout
    enums: dict[str, tuple[bool, int, list[tuple[str, int]]]] = {}
    current = None
    for line in out.splitlines():
        m = re.match(r"\[\d+\] ENUM(?:64)? '(\w+)' encoding=(\w+) size=(\d+)", line)
        if m:
            current = m.group(1)
            enums[current] = (m.group(2) == "SIGNED", int(m.group(3)), [])
            continue
        m = re.match(r"\t'(\w+)' val=(-?\d+)", line)
        if m and current:
            enums[current][2].append((m.group(1), int(m.group(2))))
        elif not line.startswith("\t"):
            current = None
    return enums


def test_text_view(layout_object: Path) -> None:
    graph = _graph(layout_object)
    text = render_layout([(graph, graph.resolve("holes_t"))])
    lines = text.splitlines()
    assert lines[0] == "typedef struct holes holes_t;"
    assert lines[1] == "struct holes {"
    assert "/* XXX 7 bytes hole, try to pack */" in text
    assert "/* padding: 7 */" in text
    assert "/* align: 8 (derived: the source records no alignment) */" in text
    anon = render_layout([(graph, graph.resolve("anon_t"))])
    assert anon.splitlines()[0] == "typedef struct {...} anon_t;"
    bits = render_layout([(graph, graph.resolve("struct bits"))])
    assert "u8                         b:3;                  /*     0: 1   1 */" in bits
    enum = render_layout([(graph, graph.resolve("enum sign"))])
    assert enum.startswith("enum sign {\n\tSIGN_NEG = ") and ", enumerators: 2 */" in enum


def test_expand_inlines_embedded_structs(layout_object: Path) -> None:
    graph = _graph(layout_object)
    plain = render_layout([(graph, graph.resolve("struct outer"))])
    expanded = render_layout([(graph, graph.resolve("struct outer"))], expand=True)
    assert "\n\tstruct inner_pad           ip;" in plain and "inner_pad {" not in plain
    assert "\tstruct inner_pad {" in expanded
    # the embedded struct's members appear with offsets from the start of struct outer
    assert "\t\tchar               b;                    /*     8     1 */" in expanded
    data = json.loads(render_layout([(graph, graph.resolve("struct outer"))], "json", expand=True))
    assert [m["name"] for m in data["members"][0]["members"]] == ["a", "b"]
