"""BPF objects compiled by clang in the test run, read by us and checked against bpftool's raw dump."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from abiguard.errors import AbiguardError
from abiguard.model import IntEncoding, Kind
from abiguard.sources.btf.reader import btf_from_elf, elf_section, parse_btf, read_btf, read_btf_file

from .bpftool_raw import assert_same_as_bpftool, bpftool_raw
from .conftest import ALL_KINDS_C


@pytest.fixture(params=["bpf", "bpfeb"])
def kinds_object(request: pytest.FixtureRequest, compile_c) -> Path:
    return compile_c(ALL_KINDS_C, target=request.param, name=f"kinds_{request.param}")


def test_every_type_matches_bpftool(kinds_object: Path, bpftool: str) -> None:
    parsed = read_btf(kinds_object)
    parsed.validate_all()
    assert_same_as_bpftool(parsed.graph, bpftool_raw(bpftool, kinds_object))


def test_all_clang_kinds_present(kinds_object: Path) -> None:
    graph = read_btf_file(kinds_object)
    kinds = {graph[i].kind for i in graph.ids()}
    # clang 14 emits no ENUM64 (that needs LLVM 15); the hand-built and vmlinux tests cover it.
    expected = set(Kind) - {Kind.VOID, Kind.ENUM64}
    assert expected <= kinds, f"missing kinds: {sorted(k.name for k in expected - kinds)}"


def test_target_from_elf(kinds_object: Path) -> None:
    graph = read_btf_file(kinds_object)
    assert graph.target.name == ("bpfeb" if "bpfeb" in kinds_object.name else "bpfel")
    assert graph.target.big_endian == ("bpfeb" in kinds_object.name)


def test_layout_facts(kinds_object: Path) -> None:
    """Values the source fixes, whatever the byte order: bitfields, packed/aligned sizes, flex arrays, enums."""
    g = read_btf_file(kinds_object)
    bits = g[g.resolve("struct bits")]
    assert bits.kind_flag
    got = {m.name: (m.bit_offset, m.bit_size) for m in bits.members}
    assert got["a"] == (0, 3) and got["b"] == (3, 7) and got["c"][1] == 40
    assert got["d"][1] == 0 and got["e"][1] == 1 and got["f"][1] == 12
    assert g.size_of(g.resolve("struct packed_s")) == 13
    assert g.size_of(g.resolve("struct aligned_s")) == 16
    flex = g[g.resolve("struct flex")]
    data = flex.members[-1]
    assert g[data.type].kind == Kind.ARRAY and g[data.type].nelems == 0 and flex.size == 4
    small = g[g.resolve("enum small")]
    # clang 14 writes no signedness (kind_flag 0): values read as u32, as bpftool prints them.
    assert {e.name: e.value for e in small.enumerators} == {"S_NEG": 0xFFFFFFFF, "S_TWO": 2}
    fwd = g[g.resolve("union fwd_union")]
    assert fwd.kind == Kind.FWD and fwd.kind_flag  # kind_flag: a forward of a union
    assert g[g.resolve("struct fwd_only")].kind == Kind.FWD and not g[g.resolve("struct fwd_only")].kind_flag
    i128 = g[g.ids_named("unsigned __int128")[0]]
    assert i128.size == 16 and i128.int_bits == 128
    assert g[g.ids_named("_Bool")[0]].encoding == IntEncoding.BOOL
    assert g[g.ids_named("signed char")[0]].encoding == IntEncoding.SIGNED
    tags = {g[i].name: g[i] for i in g.ids() if g[i].kind == Kind.DECL_TAG}
    assert tags["member_tag"].component_idx == 1 and g[tags["member_tag"].ref].name == "outer"
    assert tags["var_tag"].component_idx == -1 and g[tags["var_tag"].ref].kind == Kind.VAR
    assert tags["param_tag"].component_idx == 1 and g[tags["param_tag"].ref].kind == Kind.FUNC
    tag = next(g[i] for i in g.ids() if g[i].kind == Kind.TYPE_TAG)
    assert tag.name == "user" and g[tag.ref].name == "int"
    entry = g[g.ids_named("entry")[0]]
    assert entry.kind == Kind.FUNC and entry.linkage == 1
    assert [p.name for p in g[entry.ref].params] == ["o", "n"]
    proto = next(g[i] for i in g.ids() if g[i].kind == Kind.FUNC_PROTO and g[i].params[-1].type == 0)
    assert proto.params[-1].name == "" and len(proto.params) == 2  # int (*)(int, ...)
    secs = {g[i].name: g[i] for i in g.ids() if g[i].kind == Kind.DATASEC}
    assert {g[v.type].name for v in secs[".bss"].vars} >= {"global_outer", "static_counter"}
    static = g[g.ids_named("static_counter")[0]]
    assert static.kind == Kind.VAR and static.linkage == 0
    assert g.c_name(g.resolve("cvi_t")) == "cvi_t"
    matrix = next(m for m in g[g.resolve("struct outer")].members if m.name == "matrix")
    assert g.c_name(matrix.type, "matrix") == "cvi_t matrix[2][3][4]"
    assert g.size_of(matrix.type) == 96


def test_both_byte_orders_agree(compile_c) -> None:
    """The same source read from bpfel and bpfeb objects gives the same types (only the target differs)."""
    le = read_btf(compile_c(ALL_KINDS_C, target="bpf", name="le"))
    be = read_btf(compile_c(ALL_KINDS_C, target="bpfeb", name="be"))
    le.validate_all()
    be.validate_all()
    assert len(le.graph) == len(be.graph)
    for tid in le.graph.ids():
        a, b = le.graph[tid], be.graph[tid]
        if a.kind == Kind.STRUCT and a.name == "bits":
            continue  # bitfield offsets count from the other end on big-endian
        assert a == b, f"[{tid}] {a} != {b}"


def test_elf_section_helpers(kinds_object: Path, tmp_path: Path) -> None:
    raw = btf_from_elf(kinds_object)
    assert raw[:2] in (b"\x9f\xeb", b"\xeb\x9f")
    assert elf_section(kinds_object, ".BTF") == raw
    assert elf_section(kinds_object, ".no-such-section") is None
    assert elf_section(kinds_object, ".BTF.ext") is not None
    # The raw section parses to the same types as the object (raw BTF: host or s390x target).
    parsed = parse_btf(raw, "raw")
    assert len(parsed.graph) == len(read_btf_file(kinds_object))
    assert parsed.graph.target.endian == ("big" if "bpfeb" in kinds_object.name else "little")
    strings = parsed.strings
    assert strings[0] == 0 and parsed.string_at(0) == ""
    name_off = strings.index(b"outer\0")
    assert parsed.string_at(name_off) == "outer"
    assert parsed.string_at(name_off + 2) == "ter"  # offsets may point into a string, as in BTF
    for bad in (-1, len(strings), 1 << 40):
        with pytest.raises(AbiguardError, match=rf"^raw: BTF string offset {bad} is"):
            parsed.string_at(bad)


def test_llvm_objcopy_dump_equals_our_section(kinds_object: Path, tmp_path: Path) -> None:
    objcopy = shutil.which("llvm-objcopy") or shutil.which("llvm-objcopy-14")
    if objcopy is None:
        pytest.skip("llvm-objcopy is not installed")
    out = tmp_path / "sec.btf"
    subprocess.run([objcopy, "--dump-section", f".BTF={out}", str(kinds_object)], check=True)
    assert out.read_bytes() == btf_from_elf(kinds_object)
    assert len(read_btf_file(out)) == len(read_btf_file(kinds_object))


CROSS = [
    ("x86_64-linux-gnu-gcc", "x86_64"),
    ("i686-linux-gnu-gcc", "i386"),
    ("aarch64-linux-gnu-gcc", "aarch64"),
    ("arm-linux-gnueabihf-gcc", "arm"),
    ("s390x-linux-gnu-gcc", "s390x"),
    ("powerpc64le-linux-gnu-gcc", "ppc64le"),
    ("riscv64-linux-gnu-gcc", "riscv64"),
    ("mips64el-linux-gnuabi64-gcc", "mips64el"),
]


@pytest.mark.parametrize(("gcc", "arch"), CROSS, ids=[a for _, a in CROSS])
def test_gcc_btf_objects_name_their_arch(gcc: str, arch: str, tmp_path: Path, bpftool: str) -> None:
    """GCC's -gbtf objects for each CPU arch: the target comes from e_machine, types match bpftool."""
    compiler = shutil.which(gcc)
    if compiler is None:
        pytest.skip(f"{gcc} is not installed")
    src = tmp_path / "k.c"
    # 32-bit targets have no __int128.
    source = ALL_KINDS_C.replace("unsigned __int128", "long long") if arch in ("i386", "arm") else ALL_KINDS_C
    src.write_text(source)
    obj = tmp_path / "k.o"
    subprocess.run([compiler, "-gbtf", "-O2", "-c", str(src), "-o", str(obj), "-w"], check=True)
    parsed = read_btf(obj)
    parsed.validate_all()
    assert parsed.graph.target.name == arch
    assert_same_as_bpftool(parsed.graph, bpftool_raw(bpftool, obj))
    outer = parsed.graph.resolve("struct outer")
    assert parsed.graph.size_of(outer) == parsed.graph[outer].size > 0
