"""The 2026 BTF header with a layout section: unknown kinds skipped by their per-kind sizes."""

from __future__ import annotations

import struct

import pytest

from abiguard.errors import AbiguardError
from abiguard.model import Kind
from abiguard.sources.btf.reader import parse_btf

from .btfwriter import KNOWN_LAYOUT, BtfWriter

UNKNOWN = 25
# Kinds 20..24 unused here; kind 25 has an 8-byte info part and 4-byte vlen elements.
LAYOUT = [*KNOWN_LAYOUT, *[(0, 0, 0)] * 5, (8, 4, 0)]


def _blob(endian: str = "little", layout: list[tuple[int, int, int]] | None = LAYOUT, **kw: int) -> tuple[bytes, dict]:
    w = BtfWriter(endian=endian)
    ids = {}
    ids["int"] = w.int_("int", 4, encoding=1)
    ids["s"] = w.struct("s", 8, [("a", ids["int"], 0, 0), ("b", ids["int"], 32, 0)])
    # An unknown kind 25 with vlen 2: 12 + 8 + 2*4 = 28 bytes.
    ids["unknown"] = w.raw(UNKNOWN, "mystery", 2, 0, 0x11111111, 0x22222222, 0x33333333, 0x44444444)
    ids["td"] = w.typedef("s_t", ids["s"])
    ids["e64"] = w.enum64("e", 8, [("MINUS", -1), ("TOP", (1 << 63) + 5)], signed=False)
    ids["ptr"] = w.ptr(ids["td"])
    return w.build(layout=layout, **kw), ids


@pytest.mark.parametrize("endian", ["little", "big"])
def test_unknown_kind_is_skipped_with_layout(endian: str) -> None:
    data, ids = _blob(endian)
    parsed = parse_btf(data, "layout.btf")
    parsed.validate_all()
    g = parsed.graph
    assert len(g) == 7
    assert g[ids["unknown"]].kind == Kind.VOID  # kept as a placeholder so later ids stay right
    assert g[ids["td"]].kind == Kind.TYPEDEF and g[g.strip(ids["td"])].name == "s"
    assert g[ids["ptr"]].ref == ids["td"]
    assert [e.value for e in g[ids["e64"]].enumerators] == [(1 << 64) - 1, (1 << 63) + 5]
    assert g.resolve("s_t") == ids["td"]
    assert g.ids_named("mystery") == []  # nothing to resolve to in a record we cannot read
    (diag,) = g.diagnostics
    assert "kind 25" in diag.message and f"[{ids['unknown']}]" in diag.message
    assert g.target.endian == endian


def test_unknown_kind_without_layout_names_file_and_offset() -> None:
    data, _ids = _blob(layout=None)
    with pytest.raises(AbiguardError) as err:
        parse_btf(data, "nolayout.btf")
    msg = str(err.value)
    # header 24 + int (16) + struct (12 + 2*12): the unknown record starts at byte 76.
    assert msg.startswith("nolayout.btf: ") and "byte 76" in msg and "unknown BTF kind 25" in msg
    assert "no layout section" in msg


def test_layout_without_an_entry_for_the_kind() -> None:
    data, _ = _blob(layout=KNOWN_LAYOUT)
    with pytest.raises(AbiguardError, match=r"byte 84: unknown BTF kind 25"):
        parse_btf(data, "short-layout.btf")


def test_layout_contradicting_a_known_kind() -> None:
    bad = list(LAYOUT)
    bad[Kind.STRUCT] = (0, 16, 0)
    data, _ = _blob(layout=bad)
    with pytest.raises(AbiguardError, match=r"layout section at byte \d+: kind STRUCT"):
        parse_btf(data, "bad-layout.btf")


def test_layout_sizes_not_word_multiples() -> None:
    bad = list(LAYOUT)
    bad[UNKNOWN] = (6, 4, 0)
    data, _ = _blob(layout=bad)
    with pytest.raises(AbiguardError, match=r"not multiples of 4"):
        parse_btf(data, "odd-layout.btf")


def test_longer_header_with_zero_tail_is_accepted() -> None:
    data, ids = _blob(hdr_len=40)
    parsed = parse_btf(data, "hdr40.btf")
    parsed.validate_all()
    assert parsed.graph[ids["td"]].name == "s_t"


def test_longer_header_with_unknown_nonzero_field_is_rejected() -> None:
    data, _ = _blob(hdr_len=40)
    corrupt = bytearray(data)
    corrupt[36] = 1
    with pytest.raises(AbiguardError, match=r"hdr40.btf: BTF header at byte 36: unsupported BTF header"):
        parse_btf(bytes(corrupt), "hdr40.btf")


def test_layout_section_bounds_and_alignment() -> None:
    data, _ = _blob()
    hdr = bytearray(data)
    layout_off, layout_len = struct.unpack_from("<II", data, 24)
    struct.pack_into("<I", hdr, 28, layout_len + 2)
    with pytest.raises(AbiguardError, match=r"byte 28: layout section length \d+ is not a multiple of 4"):
        parse_btf(bytes(hdr), "x.btf")
    struct.pack_into("<II", hdr, 24, layout_off + 2, layout_len)
    with pytest.raises(AbiguardError, match=r"byte 24: layout section offset \d+ is not 4-byte aligned"):
        parse_btf(bytes(hdr), "x.btf")
    struct.pack_into("<II", hdr, 24, layout_off + 4, layout_len)
    with pytest.raises(AbiguardError, match=r"overlaps"):
        parse_btf(bytes(hdr), "x.btf")
    struct.pack_into("<II", hdr, 24, layout_off, 1 << 30)
    with pytest.raises(AbiguardError, match=r"byte 28: layout section .* runs past the end"):
        parse_btf(bytes(hdr), "x.btf")


def test_classic_header_blob_is_unchanged_by_the_layout_support() -> None:
    """hdr_len 24: no layout fields are read, even if the bytes after the header look like them."""
    w = BtfWriter()
    i = w.int_("int", 4, 1)
    w.typedef("t", i)
    parsed = parse_btf(w.build(), "classic.btf")
    parsed.validate_all()
    assert [parsed.graph[i].name for i in parsed.graph.ids()] == ["int", "t"]


def test_header_between_the_two_known_sizes() -> None:
    """hdr_len 28 carries layout_off but no layout_len: like the kernel, the missing field reads as 0."""
    w = BtfWriter()
    i = w.int_("int", 4, 1)
    w.typedef("t", i)
    data = bytearray(w.build(hdr_len=28))
    parse_btf(bytes(data), "hdr28.btf").validate_all()
    struct.pack_into("<I", data, 24, 4)  # a layout_off with no length: no layout section
    parsed = parse_btf(bytes(data), "hdr28.btf")
    parsed.validate_all()
    assert parsed.btf.header.layout is None and parsed.graph.resolve("t") == 2
