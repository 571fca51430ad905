"""Which instructions of a program read or write its context, and at what offsets: a small data-flow walk.

The context pointer arrives in r1. It is followed through register copies, constant additions and
8-byte stack spills; a register holds it on a path only if it holds it on every path that reaches
there (states meet by intersection), so a reported access is one the program surely makes.
"""

from __future__ import annotations

from dataclasses import dataclass

from .insn import CLASS_ALU, CLASS_ALU64, CLASS_JMP, CLASS_JMP32, CLASS_LD, CLASS_LDX, CLASS_ST, CLASS_STX, Code

_SIZES = {0x18: 8, 0x00: 4, 0x08: 2, 0x10: 1}
_MODE_MEM = 0x60
_FP = 10
_MAX_STEPS = 200_000  # a bound on the walk for hostile inputs; real programs need a few passes


@dataclass(frozen=True, slots=True)
class CtxAccess:
    insn: int
    offset: int  # byte offset into the context
    size: int
    write: bool


State = tuple[frozenset[tuple[int, int]], frozenset[tuple[int, int]]]  # (reg, ctx off), (stack slot, ctx off)


def ctx_accesses(code: Code, start: int, skip: frozenset[int] = frozenset()) -> list[CtxAccess]:
    """Context loads and stores reachable from `start`; instructions in `skip` (CO-RE relocated) are ignored."""
    n = len(code)
    states: dict[int, State] = {start: (frozenset({(1, 0)}), frozenset())}
    work, steps = [start], 0
    while work and steps < _MAX_STEPS:
        steps += 1
        idx = work.pop()
        if not 0 <= idx < n:
            continue
        out_state, succ, _ = _step(code, idx, states[idx], skip)
        for s in succ:
            old = states.get(s)
            new = out_state if old is None else (old[0] & out_state[0], old[1] & out_state[1])
            if new != old:
                states[s] = new
                work.append(s)
    found = (_step(code, idx, state, skip)[2] for idx, state in states.items() if 0 <= idx < n)
    return sorted((a for a in found if a is not None), key=lambda a: a.insn)


def _step(code: Code, idx: int, state: State, skip: frozenset[int]) -> tuple[State, list[int], CtxAccess | None]:
    """One instruction: the state after it, its successors, and the context access it makes."""
    regs, stack = dict(state[0]), dict(state[1])
    insn = code.insn(idx)
    succ = [idx + 1]
    access = None
    cls = insn.cls
    if cls == CLASS_LDX:
        size = _SIZES[insn.code & 0x18]
        if insn.src in regs and (insn.code & 0xE0) == _MODE_MEM and idx not in skip:
            access = CtxAccess(idx, regs[insn.src] + insn.off, size, False)
        if insn.src == _FP and size == 8 and insn.off in stack:
            regs[insn.dst] = stack[insn.off]
        else:
            regs.pop(insn.dst, None)
    elif cls in (CLASS_STX, CLASS_ST):
        size = _SIZES[insn.code & 0x18]
        if insn.dst in regs and idx not in skip:
            access = CtxAccess(idx, regs[insn.dst] + insn.off, size, True)
        if insn.dst == _FP:
            if cls == CLASS_STX and size == 8 and insn.src in regs and (insn.code & 0xE0) == _MODE_MEM:
                stack[insn.off] = regs[insn.src]
            else:
                stack.pop(insn.off, None)
        if cls == CLASS_STX and (insn.code & 0xE0) != _MODE_MEM:
            regs.pop(insn.src, None)  # atomics with BPF_FETCH write their source register (cmpxchg: r0)
            regs.pop(0, None)
    elif cls in (CLASS_ALU, CLASS_ALU64):
        op, is_reg = insn.code & 0xF0, bool(insn.code & 0x08)
        if cls == CLASS_ALU64 and op == 0xB0 and is_reg and insn.src in regs and insn.off == 0:  # mov64
            regs[insn.dst] = regs[insn.src]
        elif cls == CLASS_ALU64 and op in (0x00, 0x10) and not is_reg and insn.dst in regs:  # add/sub imm
            regs[insn.dst] += insn.imm if op == 0x00 else -insn.imm
        else:
            regs.pop(insn.dst, None)
    elif cls == CLASS_LD:
        regs.pop(insn.dst, None)
        regs.pop(0, None)  # legacy packet loads return in r0
        if insn.code == 0x18:
            succ = [idx + 2]
    elif cls in (CLASS_JMP, CLASS_JMP32):
        op = insn.code & 0xF0
        if op == 0x90 and cls == CLASS_JMP:  # exit
            succ = []
        elif op == 0x80 and cls == CLASS_JMP:  # call: r0-r5 are clobbered
            for r in range(6):
                regs.pop(r, None)
        elif op == 0x00:  # ja (gotol takes its offset from imm)
            succ = [idx + 1 + (insn.imm if cls == CLASS_JMP32 else insn.off)]
        else:
            succ = [idx + 1, idx + 1 + insn.off]
    return (frozenset(regs.items()), frozenset(stack.items())), succ, access
