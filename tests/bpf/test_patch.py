"""Instruction patch checks as bpf_core_patch_insn makes them: local value, 16-bit offsets, access sizes."""

from __future__ import annotations

import struct

from abiguard.bpf.objfile import read_object

from .conftest import core_json, relos

SIZES_KERNEL = """
struct sizes { int sval; unsigned int uval; void *ptr; };
"""
SIZES_PROG = """
struct sizes { long sval; unsigned long uval; void *ptr; } __attribute__((preserve_access_index));
SEC("kprobe/x")
int f(struct sizes *s)
{
    bpf_printk("%ld %lu %p", s->sval, s->uval, s->ptr);
    return 0;
}
"""


def test_load_size_adjustment(bpf_prog, kernel_btf):
    """Unsigned ints and pointers may shrink the load; a signed field of another size poisons it."""
    obj = bpf_prog(SIZES_PROG)
    kern = kernel_btf(SIZES_KERNEL, ["struct sizes"], name="sizes")
    rc, doc = core_json(obj, "--kernel", kern, "--no-cache")
    rs = {r["path"]: r for r in relos(doc)}
    assert rs["s->uval"]["status"] == "ok"
    assert rs["s->ptr"]["status"] == "ok"
    assert rs["s->sval"]["status"] == "poisoned" and rs["s->sval"]["target"]
    assert "size" in rs["s->sval"]["reason"]
    assert rc == 1


def test_instruction_must_hold_the_local_value(bpf_prog, kernel_btf):
    obj_path = bpf_prog(SIZES_PROG)
    obj = read_object(obj_path)
    (sec,) = obj.ext.relo_sections()
    relo = next(r for r in sec.core_relos if r.access == "0:1")  # s->uval, a plain LDX
    code = obj.code[sec.name]
    assert code.insn(relo.insn_off // 8).off == 8
    # find the section in the file and bump the load's offset: no longer the local value
    data = bytearray(obj_path.read_bytes())
    start = data.find(code.data)
    pos = start + relo.insn_off + 2
    data[pos : pos + 2] = struct.pack("<h", 12)
    obj_path.write_bytes(bytes(data))
    kern = kernel_btf("struct sizes { long sval; unsigned long uval; void *ptr; };", ["struct sizes"], name="same")
    rc, doc = core_json(obj_path, "--kernel", kern, "--no-cache")
    assert rc == 1
    (bad,) = [r for r in relos(doc) if r["failed"]]
    assert bad["status"] == "error"
    assert bad["reason"] == f"insn #{relo.insn_off // 8} (LDX/ST/STX) holds offset 12, expected the local value 8"
