"""Corrupt input: every failure is one AbiguardError naming the file and a byte offset, never a crash or hang."""

from __future__ import annotations

import contextlib
import re
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abiguard.errors import AbiguardError
from abiguard.model import TypeGraph
from abiguard.sources.btf.reader import btf_from_elf, parse_btf, read_btf

from .btfwriter import KNOWN_LAYOUT, BtfWriter
from .conftest import ALL_KINDS_C

WHERE = "blob.btf"
_BYTE = re.compile(r"byte \d+")


def writer_blob(endian: str = "little", layout: bool = True) -> bytes:
    """A small blob with every kind, ENUM64, signed enums, bitfields and the layout section."""
    w = BtfWriter(endian=endian)
    i = w.int_("int", 4, 1)
    c = w.int_("char", 1, 1)
    u64 = w.int_("unsigned long", 8)
    p = w.ptr(0)
    s = w.struct("node", 24, [("next", 0, 0, 0), ("v", i, 64, 0), ("bits", i, 96, 5), ("hi", i, 101, 20)])
    node_ptr = w.ptr(s)
    w.records[-2:-1] = [w.records[-2][:12] + struct.pack(f"{w.fmt}3I", w.s("next"), node_ptr, 0) + w.records[-2][24:]]
    arr = w.array(c, i, 16)
    un = w.struct("u", 8, [("a", i, 0, 0), ("b", u64, 0, 0)], union=True)
    e = w.enum("e", 4, [("NEG", -3), ("POS", 7)], signed=True)
    e64 = w.enum64("e64", 8, [("BIG", 1 << 40), ("NEG", -9)], signed=True)
    w.fwd("later", union=True)
    td = w.typedef("node_t", s)
    cv = w.modifier(10, w.modifier(9, td))
    w.modifier(11, p)
    proto = w.func_proto(i, [("n", node_ptr), ("x", cv), ("", 0)])
    f = w.func("fn", proto)
    v = w.var("gv", arr)
    w.datasec(".data", 16, [(v, 0, 16)])
    w.float_("double", 8)
    w.decl_tag("tag", s, 1)
    w.decl_tag("ftag", f, 0)
    w.type_tag("user", un)
    del e, e64
    return w.build(layout=KNOWN_LAYOUT if layout else None)


def exercise(data: bytes, where: str = WHERE) -> None:
    """Everything a command may do with a parsed blob: all of it must end in success or AbiguardError."""
    parsed = parse_btf(data, where)
    parsed.validate_all()
    g: TypeGraph = parsed.graph
    for tid in range(len(g)):
        g.size_of(tid)
        g.align_of(tid)
        g.c_name(tid)
        g.describe(tid)
        name = g[tid].name
        if name:
            with contextlib.suppress(AbiguardError):  # ambiguous names are a user error, still clean
                g.resolve(name)


def assert_clean(data: bytes, where: str = WHERE) -> bool:
    """True when the blob parsed; an error must be an AbiguardError naming `where` and a byte offset."""
    try:
        exercise(data, where)
    except AbiguardError as e:
        msg = str(e)
        assert msg.startswith(f"{where}: "), msg
        assert _BYTE.search(msg), msg
        return False
    return True


@pytest.fixture(scope="module")
def object_blobs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    import shutil
    import subprocess

    clang = shutil.which("clang")
    if clang is None:
        pytest.skip("clang is not installed")
    tmp = tmp_path_factory.mktemp("corrupt")
    src = tmp / "k.c"
    src.write_text(ALL_KINDS_C)
    blobs = {}
    for target in ("bpf", "bpfeb"):
        obj = tmp / f"k-{target}.o"
        subprocess.run([clang, "-target", target, "-g", "-O2", "-c", str(src), "-o", str(obj)], check=True)
        blobs[target] = btf_from_elf(obj)
    return blobs


def test_writer_blobs_are_valid() -> None:
    for endian in ("little", "big"):
        for layout in (True, False):
            assert assert_clean(writer_blob(endian, layout))


@pytest.mark.parametrize("target", ["bpf", "bpfeb"])
def test_every_truncation_of_an_object_blob(object_blobs: dict[str, bytes], target: str) -> None:
    data = object_blobs[target]
    assert assert_clean(data)
    for cut in range(len(data)):
        assert not assert_clean(data[:cut]), f"truncation to {cut} bytes was accepted"


def test_every_truncation_of_a_writer_blob() -> None:
    for endian in ("little", "big"):
        data = writer_blob(endian)
        for cut in range(len(data)):
            assert not assert_clean(data[:cut]), f"truncation to {cut} bytes was accepted"


@pytest.mark.parametrize("target", ["bpf", "bpfeb"])
def test_bit_flips_in_an_object_blob(object_blobs: dict[str, bytes], target: str) -> None:
    data = object_blobs[target]
    # Every bit of the header and the first records, then one bit of every 5th byte further on.
    flips = [(pos, bit) for pos in range(min(len(data), 96)) for bit in range(8)]
    flips += [(pos, pos % 8) for pos in range(96, len(data), 5)]
    for pos, bit in flips:
        corrupt = bytearray(data)
        corrupt[pos] ^= 1 << bit
        assert_clean(bytes(corrupt))


def test_bit_flips_in_a_writer_blob() -> None:
    """Two bits of every byte (a different pair per byte), both byte orders."""
    for endian in ("little", "big"):
        data = writer_blob(endian)
        accepted = 0
        for pos in range(len(data)):
            for bit in (pos % 8, (pos + 3) % 8):
                corrupt = bytearray(data)
                corrupt[pos] ^= 1 << bit
                accepted += assert_clean(bytes(corrupt))
        assert 0 < accepted < 2 * len(data)  # some flips are harmless (names, sizes), many are not


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["little", "big"]),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 7)), max_size=6),
    st.one_of(st.none(), st.integers(0, 10_000)),
    st.binary(max_size=8),
)
def test_random_damage_is_clean(endian: str, flips: list[tuple[int, int]], cut: int | None, tail: bytes) -> None:
    data = bytearray(writer_blob(endian))
    for pos, bit in flips:
        data[pos % len(data)] ^= 1 << bit
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    assert_clean(bytes(data) + tail)


# --- targeted corruptions ----------------------------------------------------------------------


def _error(data: bytes) -> str:
    with pytest.raises(AbiguardError) as err:
        exercise(data)
    msg = str(err.value)
    assert msg.startswith(f"{WHERE}: ") and _BYTE.search(msg), msg
    return msg


def _simple(endian: str = "little") -> tuple[BtfWriter, int]:
    w = BtfWriter(endian=endian)
    return w, w.int_("int", 4, 1)


@pytest.mark.parametrize("endian", ["little", "big"])
def test_bad_magic_version_flags(endian: str) -> None:
    w, _ = _simple(endian)
    data = w.build()
    assert "byte 0: bad magic 0x1234" in _error(b"\x12\x34" + data[2:])
    assert "byte 2: unsupported BTF version 2" in _error(data[:2] + b"\x02" + data[3:])
    assert "byte 3: unsupported BTF flags" in _error(data[:3] + b"\x01" + data[4:])


def test_hdr_len_out_of_range() -> None:
    w, _ = _simple()
    data = bytearray(w.build())
    struct.pack_into("<I", data, 4, 8)
    assert "byte 4: hdr_len 8 is smaller" in _error(bytes(data))
    struct.pack_into("<I", data, 4, 1 << 31)
    assert "byte 4: hdr_len 2147483648 runs past the end" in _error(bytes(data))


def test_sections_out_of_bounds_overlapping_misaligned() -> None:
    w, _ = _simple()
    data = w.build()
    bad = bytearray(data)
    struct.pack_into("<I", bad, 12, 1000)  # type_len
    assert "byte 12: type section" in _error(bytes(bad))
    bad = bytearray(data)
    struct.pack_into("<I", bad, 16, 4)  # str_off inside the type section
    assert "overlaps" in _error(bytes(bad))
    bad = bytearray(data)
    struct.pack_into("<I", bad, 8, 2)  # type_off
    assert "not 4-byte aligned" in _error(bytes(bad))
    assert "byte 20: empty string section" in _error(data[:20] + b"\0\0\0\0" + data[24:])


def test_type_id_out_of_range() -> None:
    w, i = _simple()
    w.struct("s", 4, [("a", 99, 0, 0)])
    assert "BTF type [2] at byte 56: member type id 99 is out of range"  # the member's type word in _error(w.build())
    w, i = _simple()
    w.ptr(3)
    assert "BTF type [2] at byte 48: PTR refers to type id 3, beyond the last id 2" in _error(w.build())
    w, i = _simple()
    w.array(i, i, 4)
    w.array(7, i, 4)
    assert "[3]" in _error(w.build())


def test_string_offset_out_of_range() -> None:
    w, i = _simple()
    w.typedef(10_000, i)
    assert "BTF type [2] at byte 40: name offset 10000 is beyond the string section" in _error(w.build())
    w, i = _simple()
    w.struct("s", 4, [(5000, i, 0, 0)])
    assert "member name offset 5000" in _error(w.build())


def test_string_section_not_nul_terminated() -> None:
    w, _ = _simple()
    data = w.build()
    assert "does not end with a NUL byte" in _error(data[:-1] + b"x")


def test_typedef_cycle() -> None:
    w, _ = _simple()
    w.typedef("A", 3)
    w.typedef("B", 2)
    msg = _error(w.build())
    assert "reference cycle not through a pointer: [2] TYPEDEF 'A' -> [3] TYPEDEF 'B' -> [2]" in msg


def test_struct_containing_itself_by_value() -> None:
    w, i = _simple()
    w.struct("self", 8, [("a", i, 0, 0), ("me", 2, 32, 0)])
    assert "[2] STRUCT 'self' -> [2]" in _error(w.build())
    w, i = _simple()
    w.struct("viarray", 8, [("a", i, 0, 0), ("many", 3, 32, 0)])
    w.array(2, i, 2)
    assert "[2] STRUCT 'viarray' -> [3] ARRAY -> [2]" in _error(w.build())


def test_pointer_cycles() -> None:
    w, _ = _simple()
    w.struct("list", 8, [("next", 3, 0, 0)])
    w.ptr(2)
    parse_btf(w.build(), WHERE).validate_all()  # the ordinary linked list is fine
    w, _i = _simple()
    w.ptr(3)
    w.typedef("p_t", 2)  # typedef p_t *p_t: no struct on the cycle, C cannot say it
    assert "pointer cycle through no struct or union" in _error(w.build())


def test_absurd_vlen() -> None:
    w, _i = _simple()
    w.raw(4, "huge", 0xFFFFFF, 8)
    msg = _error(w.build())
    assert "byte 40: STRUCT record with vlen 16777215 needs" in msg


def test_vlen_on_a_kind_without_elements() -> None:
    w, i = _simple()
    w.raw(2, "", 3, i)
    assert "PTR record with nonzero vlen 3" in _error(w.build())


def test_unknown_kind_without_layout() -> None:
    w, _ = _simple()
    w.raw(23, "", 0, 0)
    assert "byte 40: unknown BTF kind 23" in _error(w.build())
    w, _i = _simple()
    w.raw(0, "", 0, 0)
    assert "kind 0" in _error(w.build())


def test_kind_checks_need_the_target() -> None:
    w, i = _simple()
    w.func("f", i)
    assert "FUNC 'f' refers to [1], which is not a FUNC_PROTO" in _error(w.build())
    w, i = _simple()
    w.datasec(".data", 4, [(i, 0, 4)])
    assert "DATASEC entry [1] is not a VAR or FUNC" in _error(w.build())
    w, i = _simple()
    s = w.struct("s", 4, [("a", i, 0, 0)])
    w.decl_tag("t", s, 3)
    assert "component_idx 3 is out of range" in _error(w.build())


def test_bad_int_float_enum() -> None:
    w, _ = _simple()
    w.int_("odd", 3)
    assert "INT 'odd' has unsupported size 3" in _error(w.build())
    w, _ = _simple()
    w.int_("wide", 4, bits=40)
    assert "40 bits" in _error(w.build())
    w, _ = _simple()
    w.float_("f", 5)
    assert "FLOAT 'f' has unsupported size 5" in _error(w.build())
    w, _ = _simple()
    w.enum("e", 3, [("A", 1)])
    assert "ENUM 'e' has unsupported size 3" in _error(w.build())


def test_big_endian_blob_read_as_big_endian() -> None:
    data = writer_blob("big")
    parsed = parse_btf(data, WHERE)
    parsed.validate_all()
    assert parsed.graph.target.name == "s390x" or parsed.graph.target.big_endian
    swapped = bytearray(data)
    swapped[0:2] = b"\x9f\xeb"  # little-endian magic on big-endian fields: a clean error, no hang
    assert not assert_clean(bytes(swapped))


def test_broken_elf_is_clean(tmp_path: Path, compile_c) -> None:
    obj = compile_c(ALL_KINDS_C, name="elf")
    data = obj.read_bytes()
    for cut in [5, 20, 63, 64, 100, len(data) // 2, len(data) - 1]:
        broken = tmp_path / f"cut{cut}.o"
        broken.write_bytes(data[:cut])
        with pytest.raises(AbiguardError) as err:
            read_btf(broken).validate_all()
        assert str(err.value).startswith(f"{broken}: ")
    for pos in range(0, 64):
        flipped = bytearray(data)
        flipped[pos] ^= 0xFF
        path = tmp_path / f"flip{pos}.o"
        path.write_bytes(bytes(flipped))
        try:
            read_btf(path).validate_all()
        except AbiguardError as e:
            assert str(e).startswith(f"{path}: ")


def test_not_btf_at_all(tmp_path: Path) -> None:
    path = tmp_path / "text.btf"
    path.write_text("hello")
    with pytest.raises(AbiguardError, match="bad magic"):
        read_btf(path)
    with pytest.raises(AbiguardError, match=r"(?i)no such file"):
        read_btf(tmp_path / "missing.btf")


@pytest.mark.parametrize("bulk", [True, False])
def test_nesting_deeper_than_consumers_can_recurse(bulk: bool) -> None:
    from abiguard.sources.btf.table import MAX_DEPTH

    def chain(levels: int) -> bytes:
        w, i = _simple()
        prev = i
        for n in range(levels - 1):
            prev = w.typedef(f"t{n}", prev)
        return w.build()

    ok = parse_btf(chain(MAX_DEPTH), WHERE)
    if bulk:
        ok.validate_all()
    assert ok.graph.size_of(len(ok.graph) - 1) == 4
    # Links are checked when the file is parsed, whatever a command touches later.
    with pytest.raises(AbiguardError, match=rf"byte \d+: by-value nesting .* deeper than {MAX_DEPTH} levels"):
        parse_btf(chain(MAX_DEPTH + 1), WHERE)
    # Pointer spelling chains count too (int ****...): c_name recurses through them.
    w, i = _simple()
    prev = i
    for _ in range(MAX_DEPTH + 5):
        prev = w.ptr(prev)
    with pytest.raises(AbiguardError, match=r"nesting of type spellings deeper than"):
        parsed = parse_btf(w.build(), WHERE)
        parsed.validate_all() if bulk else parsed.graph[prev]


@pytest.mark.parametrize("length", [20, 5000])
def test_long_typedef_cycle_is_one_short_error(length: int) -> None:
    w, _ = _simple()
    first = 2  # the first typedef's id
    for n in range(length):
        w.typedef(f"t{n}", first + (n + 1) % length)
    with pytest.raises(AbiguardError) as err:
        parse_btf(w.build(), WHERE)  # links are checked when the file is parsed
    msg = str(err.value)
    assert len(msg) < 600 and ("cycle" in msg or "deeper than" in msg), msg


def test_size_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compile_c) -> None:
    """Files and ELF sections over the cap are refused before anything is decoded (bounded memory)."""
    from abiguard.sources.btf import elf as btf_elf

    monkeypatch.setattr(btf_elf, "MAX_BTF_SIZE", 64)
    raw = tmp_path / "big.btf"
    raw.write_bytes(writer_blob())
    with pytest.raises(AbiguardError, match=r"big.btf: file is over 64 bytes"):
        read_btf(raw)
    obj = compile_c(ALL_KINDS_C, name="capped")
    with pytest.raises(AbiguardError, match=r"capped.o: ELF section .BTF is \d+ bytes, over 64"):
        read_btf(obj)


def test_member_beyond_the_struct_size() -> None:
    w, i = _simple()
    w.struct("s", 8, [("a", i, 0, 0), ("b", i, 48, 0)])  # b ends at bit 80; its offset word is byte 72
    assert "BTF type [2] at byte 72: member 'b' of STRUCT 's' ends at bit 80, beyond its 8 bytes" in _error(w.build())
    w, i = _simple()
    w.struct("bits", 4, [("a", i, 0, 3), ("b", i, 30, 5)])
    assert "member 'b' of STRUCT 'bits' ends at bit 35" in _error(w.build())
    w, i = _simple()
    w.struct("u", 2, [("a", i, 0, 0)], union=True)
    assert "member 'a' of UNION 'u' ends at bit 32, beyond its 2 bytes" in _error(w.build())
    w, i = _simple()
    w.struct("big", 12, [("arr", w.array(i, i, 4), 0, 0)])
    assert "member 'arr' of STRUCT 'big' ends at bit 128" in _error(w.build())


def test_32_bit_pointers_in_raw_btf_read_on_a_64_bit_host() -> None:
    """Raw BTF carries no pointer size: a 32-bit layout (pointer at offset 4 of 8) must stay valid."""
    w, i = _simple()
    p = w.ptr(i)
    w.struct("s32", 8, [("x", i, 0, 0), ("p", p, 32, 0)])
    w.struct("flex", 4, [("n", i, 0, 0), ("tail", w.array(p, i, 0), 32, 0)])
    parsed = parse_btf(w.build(), WHERE)
    parsed.validate_all()
    assert parsed.graph.resolve("struct s32") == 3


def test_elf_claiming_billions_of_sections(compile_c, tmp_path: Path) -> None:
    """Extended section numbering (e_shnum 0, count in section 0's sh_size) set absurdly: refused, no hang."""
    data = bytearray(compile_c(ALL_KINDS_C, name="shnum").read_bytes())
    shoff = struct.unpack_from("<Q", data, 40)[0]  # ELF64 little-endian: e_shoff
    struct.pack_into("<H", data, 60, 0)  # e_shnum
    struct.pack_into("<Q", data, shoff + 32, 0xFFFFFFFF)  # section 0 sh_size
    path = tmp_path / "shnum.o"
    path.write_bytes(bytes(data))
    with pytest.raises(AbiguardError, match=r"shnum.o: ELF section header table \(4294967295 x 64 bytes\) runs past"):
        read_btf(path)
