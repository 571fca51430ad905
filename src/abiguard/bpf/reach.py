"""Which instructions can the verifier reach once CO-RE constants are patched in?

A poisoned instruction only breaks the load if it is reachable: `if (bpf_core_field_exists(...))`
guards compile to a relocated constant and a conditional jump, which the verifier prunes as dead
code. This is a small constant propagation over registers with branch folding, enough for that idiom.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping

from .insn import CLASS_ALU, CLASS_ALU64, CLASS_JMP, CLASS_JMP32, CLASS_LD, CLASS_STX, LD_IMM64, Code

_U64 = (1 << 64) - 1
_U32 = 0xFFFFFFFF
Regs = tuple[int | None, ...]  # r0..r10: known constant (as u64) or None


def _s64(v: int) -> int:
    return v - (1 << 64) if v & (1 << 63) else v


def _s32(v: int) -> int:
    v &= _U32
    return v - (1 << 32) if v & (1 << 31) else v


def _alu(op: int, a: int, b: int, bits: int) -> int | None:
    mask = _U64 if bits == 64 else _U32
    a, b = a & mask, b & mask
    if op == 0x00:
        return (a + b) & mask
    if op == 0x10:
        return (a - b) & mask
    if op == 0x20:
        return (a * b) & mask
    if op == 0x40:
        return a | b
    if op == 0x50:
        return a & b
    if op == 0x60:
        return (a << (b & (bits - 1))) & mask
    if op == 0x70:
        return a >> (b & (bits - 1))
    if op == 0xA0:
        return a ^ b
    if op == 0xB0:
        return b
    return None


def _cond(op: int, a: int, b: int, bits: int) -> bool | None:
    mask = _U64 if bits == 64 else _U32
    a, b = a & mask, b & mask
    sa, sb = (_s64(a), _s64(b)) if bits == 64 else (_s32(a), _s32(b))
    table = {
        0x10: a == b, 0x20: a > b, 0x30: a >= b, 0x40: bool(a & b), 0x50: a != b,
        0x60: sa > sb, 0x70: sa >= sb, 0xA0: a < b, 0xB0: a <= b, 0xC0: sa < sb, 0xD0: sa <= sb,
    }
    return table.get(op)


def patched_code(code: Code, values: Mapping[int, int]) -> Code:
    """The section with relocated immediates (ALU imm, ldimm64) replaced by their target values."""
    data = bytearray(code.data)
    fmt = ">i" if code.big_endian else "<i"
    for idx, val in values.items():
        insn = code.insn(idx)
        if insn.cls in (CLASS_ALU, CLASS_ALU64) and not insn.code & 0x08:
            struct.pack_into(fmt, data, idx * 8 + 4, _s32(val))
        elif insn.code == LD_IMM64 and idx + 1 < len(code):
            struct.pack_into(fmt, data, idx * 8 + 4, _s32(val))
            struct.pack_into(fmt, data, idx * 8 + 12, _s32(val >> 32))
    return Code(bytes(data), code.big_endian)


def reachable(code: Code, entries: Iterable[int], poisoned: Iterable[int] = ()) -> set[int]:
    """Instruction indexes reachable from the entries, folding branches on known constants."""
    n = len(code)
    dead_calls = set(poisoned)
    states: dict[int, Regs] = {}
    work: list[int] = []
    start: Regs = (None,) * 11

    def push(pc: int, regs: Regs) -> None:
        if not 0 <= pc < n:
            return
        old = states.get(pc)
        if old is None:
            states[pc] = regs
        else:
            joined = tuple(a if a == b else None for a, b in zip(old, regs, strict=True))
            if joined == old:
                return
            states[pc] = joined
        work.append(pc)

    for e in entries:
        push(e, start)
    while work:
        pc = work.pop()
        regs = list(states[pc])
        if pc in dead_calls:
            continue  # a poisoned instruction: the verifier rejects the program right here
        insn = code.insn(pc)
        cls, op = insn.cls, insn.code & 0xF0
        if cls in (CLASS_ALU, CLASS_ALU64):
            bits = 64 if cls == CLASS_ALU64 else 32
            if insn.dst > 10:
                continue
            b = (regs[insn.src] if insn.src <= 10 else None) if insn.code & 0x08 else insn.imm & _U64
            a = regs[insn.dst]
            result = None
            if op == 0xB0 and b is not None and insn.off == 0:
                result = b & (_U64 if bits == 64 else _U32)
            elif a is not None and b is not None and op != 0xB0:
                result = _alu(op, a, b, bits)
            regs[insn.dst] = result
            push(pc + 1, tuple(regs))
        elif insn.code == LD_IMM64:
            if insn.dst <= 10 and pc + 1 < n:
                hi = code.insn(pc + 1)
                regs[insn.dst] = ((insn.imm & _U32) | ((hi.imm & _U32) << 32)) if insn.src == 0 else None
            push(pc + 2, tuple(regs))
        elif cls in (CLASS_JMP, CLASS_JMP32):
            if op == 0x90:  # exit
                continue
            if op == 0x80:  # call: r0-r5 clobbered; a bpf-to-bpf callee is an entry of its own
                if insn.src == 1:
                    push(pc + insn.imm + 1, start)
                push(pc + 1, (None,) * 6 + tuple(regs[6:]))
                continue
            if op == 0x00:  # ja
                push(pc + 1 + (insn.imm if cls == CLASS_JMP32 else insn.off), tuple(regs))
                continue
            bits = 64 if cls == CLASS_JMP else 32
            a = regs[insn.dst] if insn.dst <= 10 else None
            b = (regs[insn.src] if insn.src <= 10 else None) if insn.code & 0x08 else insn.imm & _U64
            taken = _cond(op, a, b, bits) if a is not None and b is not None else None
            if taken is not False:
                push(pc + 1 + insn.off, tuple(regs))
            if taken is not True:
                push(pc + 1, tuple(regs))
        else:
            if cls == CLASS_LD or (cls == CLASS_STX and insn.code & 0xE0 == 0xC0):
                regs[0] = None  # legacy packet loads and atomics write r0 (and the fetch register)
                if insn.src <= 10:
                    regs[insn.src] = None
            elif cls == 1 and insn.dst <= 10:  # LDX
                regs[insn.dst] = None
            push(pc + 1, tuple(regs))
    return set(states)
