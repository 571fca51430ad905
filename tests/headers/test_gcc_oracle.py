"""The header reader against gcc cross compilers: every size, alignment, offset, bitfield and constant."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest

from abiguard.model import TypeGraph
from abiguard.model.target import ALL_ARCHES, TARGETS
from abiguard.model.types import Constant, Kind
from abiguard.sources.clang.libclang import BUILTIN_INCLUDE

from .layout_headers import HEADERS

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
from gcc_layout_oracle import find_clang, find_gcc, run_oracle

BITFIELDS = 14  # named bitfields in layout_headers.HEADERS


def _prelude(root: Path) -> str:
    return "".join(f'#include "{root / name}"\n' for name in sorted(HEADERS))


def _gcc(arch: str) -> str:
    gcc = find_gcc(TARGETS[arch])
    if gcc is None:
        pytest.skip(f"no gcc cross compiler for {arch} on this machine")
    return gcc


@pytest.mark.parametrize("arch", ALL_ARCHES)
def test_layouts_and_constants_match_gcc(
    arch: str, layout_graphs: dict[str, TypeGraph], layout_header_dir: Path
) -> None:
    gcc = _gcc(arch)
    graph = layout_graphs[arch]
    assert not graph.diagnostics
    report = run_oracle(graph, _prelude(layout_header_dir), [layout_header_dir], gcc=gcc)
    assert report.compile_errors == []
    assert report.mismatches == []
    assert report.unjudged == []
    assert report.bitfields_checked == BITFIELDS
    # every struct, member path, enumerator, typedef and constant made it into a check
    assert report.checked > 400
    assert sum(1 for name in graph.constants if name.startswith("ABG_")) > 60


@pytest.mark.parametrize("arch", [a for a in ALL_ARCHES if TARGETS[a].gcc_prefix is None or a in (
    "ppc64", "ppc", "mips", "mipsel", "loongarch64", "sparc64", "riscv32")])
def test_arches_without_gcc_match_system_clang(
    arch: str, layout_graphs: dict[str, TypeGraph], layout_header_dir: Path
) -> None:
    """A second oracle where Debian has no cross gcc: the system clang (an older, separate build)."""
    if find_gcc(TARGETS[arch]):
        pytest.skip(f"{arch} has a gcc: checked against it above")
    clang = find_clang(TARGETS[arch])
    if clang is None:
        pytest.skip(f"the system clang cannot compile for {arch}")
    # clang's own stdint.h/stddef.h differ from the Linux ABI on purpose (int_fast16_t, max_align_t):
    # give it abiguard's freestanding headers, so what is judged is the reader.
    report = run_oracle(layout_graphs[arch], _prelude(layout_header_dir), [layout_header_dir], gcc=clang,
                        system_include=BUILTIN_INCLUDE)
    assert report.mismatches == []
    assert report.compile_errors in ([], [e for e in report.compile_errors if "DWARF" in e])
    assert report.checked > 400
    # bitfields are judged wherever pyelftools can relocate the object's DWARF for this arch
    unread = [u for u in report.unjudged if u.startswith("bitfield ")]
    assert report.bitfields_checked + len(unread) == BITFIELDS
    # clang, unlike gcc, does not fold a pointer comparison in a static assertion
    assert [u for u in report.unjudged if not u.startswith("bitfield ")] in (
        [], [u for u in report.unjudged if u.startswith("ABG_T_NULL_IS_ZERO ")]
    )


def test_oracle_reports_wrong_layouts(layout_graphs: dict[str, TypeGraph], layout_header_dir: Path) -> None:
    """A graph altered in five places must produce exactly those five disagreements."""
    gcc = _gcc("x86_64")
    good = layout_graphs["x86_64"]
    types = list(good.types)
    packed = good.resolve("struct abg_packed")
    types[packed] = dataclasses.replace(types[packed], size=16)
    anon = good.resolve("struct abg_anon")
    members = list(types[anon].members)
    members[0] = dataclasses.replace(members[0], bit_offset=8)
    types[anon] = dataclasses.replace(types[anon], members=tuple(members))
    bits = good.resolve("struct abg_bits")
    members = [dataclasses.replace(m, bit_offset=m.bit_offset + 1) if m.name == "c" else m for m in types[bits].members]
    types[bits] = dataclasses.replace(types[bits], members=tuple(members))
    neg = good.resolve("enum abg_neg")
    types[neg] = dataclasses.replace(types[neg], enumerators=tuple(
        dataclasses.replace(e, value=-2) if e.name == "ABG_N_NEG" else e for e in types[neg].enumerators
    ))
    constants = dict(good.constants)
    constants["ABG_IOC_FIEMAP"] = Constant("ABG_IOC_FIEMAP", 0xC018660B)
    bad = TypeGraph(good.target, types, good.source, constants)
    assert all(t.kind != Kind.VOID or i == 0 for i, t in enumerate(types))
    report = run_oracle(bad, _prelude(layout_header_dir), [layout_header_dir], gcc=gcc)
    wrong = "\n".join(report.mismatches)
    assert "sizeof(struct abg_packed) == 16" in wrong
    assert "offsetof(struct abg_anon, kind) == 1" in wrong
    assert "bitfield struct abg_bits.c: ours bit 9 width 7, gcc DWARF (8, 7)" in wrong
    assert "ABG_N_NEG == -2" in wrong
    assert f"ABG_IOC_FIEMAP == {0xC018660B}" in wrong
    assert len(report.mismatches) == 5, wrong
    assert report.compile_errors == []
