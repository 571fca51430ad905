""".BTF.ext parsing on real objects (both byte orders) and strict rejection of corrupt ones."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from abiguard.bpf.btf_ext import ReloKind
from abiguard.bpf.compat import essential_name
from abiguard.bpf.objfile import read_object

from . import test_relocate as progs
from .conftest import require_tool, run_core

BODY = progs.FLAVOR_PROG % progs.BOTH_ARCHES


@pytest.mark.parametrize("target", ["bpf", "bpfeb"])
def test_records_of_a_real_object(bpf_prog, target):
    obj = read_object(bpf_prog(BODY, target=target))
    assert obj.big_endian == (target == "bpfeb")
    (sec,) = obj.ext.relo_sections()
    assert sec.name == "kprobe/do_sys_open"
    assert [obj.btf[f.type_id].name for f in sec.func_info] == ["read_arg"]
    assert any(li.file.endswith("prog.c") and "bpf_core_field_exists" in li.text for li in sec.line_info)
    assert [li.insn_off for li in sec.line_info] == sorted(li.insn_off for li in sec.line_info)
    kinds = [r.kind for r in sec.core_relos]
    assert kinds.count(ReloKind.FIELD_EXISTS) == 2 and ReloKind.FIELD_BYTE_OFFSET in kinds
    for r in sec.core_relos:
        assert r.insn_off % 8 == 0 and r.insn_off < len(obj.code[sec.name].data)
        assert r.access == "0:0"
        assert essential_name(obj.btf[r.type_id].name) == "pt_regs"


def test_both_byte_orders_give_the_same_records(bpf_prog):
    le = read_object(bpf_prog(BODY, target="bpf", name="le"))
    be = read_object(bpf_prog(BODY, target="bpfeb", name="be"))

    def summary(o):
        return [
            (s.name, [(r.insn_off, o.btf.describe(r.type_id), r.access, r.kind) for r in s.core_relos],
             [(li.insn_off, li.line, li.col) for li in s.line_info])
            for s in o.ext.sections.values()
        ]

    assert summary(le) == summary(be)


def test_relocated_instructions_are_the_ones_objdump_marks(bpf_prog):
    """llvm-objdump prints CO-RE-relocatable loads; every FIELD_BYTE_OFFSET we read points at one."""
    path = bpf_prog(BODY)
    objdump = require_tool("llvm-objdump")
    out = subprocess.run([objdump, "-d", "--no-show-raw-insn", str(path)], capture_output=True, text=True).stdout
    insns = {}
    for ln in out.splitlines():
        head, _, text = ln.strip().partition(":")
        if head.isdigit():
            insns[int(head)] = text.strip()
    obj = read_object(path)
    (sec,) = obj.ext.relo_sections()
    for r in sec.core_relos:
        text = insns[r.insn_off // 8]
        if r.kind == ReloKind.FIELD_EXISTS:
            assert text.endswith("= 1"), text
        else:
            assert "+ 0" in text or "= 0" in text, text  # offset 0 add/load, as the local layout says


def _ext_offset(obj: Path) -> tuple[int, int]:
    with obj.open("rb") as f:
        sec = ELFFile(f).get_section_by_name(".BTF.ext")
        return sec["sh_offset"], sec["sh_size"]


def _patch(obj: Path, off: int, data: bytes) -> None:
    raw = bytearray(obj.read_bytes())
    raw[off : off + len(data)] = data
    obj.write_bytes(bytes(raw))


def _header(obj: Path) -> tuple[int, int, tuple[int, ...]]:
    start, size = _ext_offset(obj)
    raw = obj.read_bytes()[start : start + size]
    hdr_len = struct.unpack_from("<I", raw, 4)[0]
    return start, hdr_len, struct.unpack_from("<6I", raw, 8)


def _expect_error(obj: Path, *words: str) -> str:
    rc, out, err = run_core(obj, "--kernel", obj, "--no-cache")
    assert rc == 2, out + err
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"abiguard: error: {obj}: "), err
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def test_bad_magic(bpf_prog):
    obj = bpf_prog(BODY)
    start, _, _ = _header(obj)
    _patch(obj, start, b"\x00\x00")
    _expect_error(obj, "bad magic", f"byte {start:#x}")


def test_truncated_core_relo_subsection(bpf_prog):
    obj = bpf_prog(BODY)
    start, _hdr_len, (_, _, _, _, _core_off, core_len) = _header(obj)
    _patch(obj, start + 28, struct.pack("<I", core_len + 64))
    _expect_error(obj, "core_relo", "runs past the section end")


def test_bad_record_size(bpf_prog):
    obj = bpf_prog(BODY)
    start, hdr_len, (_, _, line_off, _, _, _) = _header(obj)
    _patch(obj, start + hdr_len + line_off, struct.pack("<I", 6))
    _expect_error(obj, "line_info has invalid record size 6")


def test_zero_records(bpf_prog):
    obj = bpf_prog(BODY)
    start, hdr_len, (func_off, _, _, _, _, _) = _header(obj)
    _patch(obj, start + hdr_len + func_off + 8, struct.pack("<I", 0))
    _expect_error(obj, "func_info section has zero records")


def test_string_offset_out_of_range(bpf_prog):
    obj = bpf_prog(BODY)
    start, hdr_len, (_, _, _, _, core_off, _) = _header(obj)
    first = start + hdr_len + core_off + 4 + 8  # record size, section header, then record #0
    _patch(obj, first + 8, struct.pack("<I", 0x7FFFFFF))
    _expect_error(obj, "access string offset", "out of range", f"byte {first + 8:#x}")


def test_type_id_out_of_range(bpf_prog):
    obj = bpf_prog(BODY)
    start, hdr_len, (_, _, _, _, core_off, _) = _header(obj)
    first = start + hdr_len + core_off + 12
    _patch(obj, first + 4, struct.pack("<I", 999999))
    _expect_error(obj, "type id 999999 is out of range")


def test_insn_offset_misaligned_and_out_of_range(bpf_prog):
    obj = bpf_prog(BODY)
    start, hdr_len, (_, _, _, _, core_off, _) = _header(obj)
    first = start + hdr_len + core_off + 12
    _patch(obj, first, struct.pack("<I", 13))
    _expect_error(obj, "not a multiple of 8")
    _patch(obj, first, struct.pack("<I", 8 * 100000))
    rc, out, _err = run_core(obj, "--kernel", obj, "--no-cache", "--format", "json")
    # an instruction outside its section is libbpf's -EINVAL: a relocation error, reported per kernel
    assert rc == 1 and "outside section" in out


def test_truncated_section_header(bpf_prog):
    obj = bpf_prog(BODY)
    start, _, _ = _header(obj)
    _patch(obj, start + 4, struct.pack("<I", 12))
    _expect_error(obj, "header length 12")


def test_not_an_object(tmp_path):
    junk = tmp_path / "junk.o"
    junk.write_bytes(b"hello")
    rc, _out, err = run_core(junk, "--kernel", junk)
    assert rc == 2 and err.startswith(f"abiguard: error: {junk}: not an ELF object")
