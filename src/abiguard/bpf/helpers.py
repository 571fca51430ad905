"""Check 1: every helper the object calls (BPF_CALL, src_reg 0, id in imm) is in the kernel's enum bpf_func_id."""

from __future__ import annotations

from dataclasses import dataclass

from .findings import Check, EnumRef, LoadFinding, Outcome, enum_name
from .insn import INSN_SZ
from .kfacts import KernelFacts
from .objfile import BpfObject

CALL = 0x85  # BPF_JMP | BPF_CALL
FUNC_ENUM, FUNC_PREFIX, FUNC_MAX = "bpf_func_id", "BPF_FUNC_", "__BPF_FUNC_MAX_ID"


@dataclass(frozen=True, slots=True)
class HelperCall:
    section: str
    insn: int
    helper_id: int


def helper_calls(obj: BpfObject) -> list[HelperCall]:
    """Helper calls in every executable section; calls with a relocation are BPF-to-BPF or kfunc calls."""
    out = []
    for section in sorted(obj.parts.programs):
        code, relocs = obj.program_code(section), obj.parts.relocs.get(section, {})
        for idx in range(len(code)):
            insn = code.insn(idx)
            if insn.code == CALL and insn.src == 0 and idx * INSN_SZ not in relocs:
                out.append(HelperCall(section, idx, insn.imm))
    return out


def check_helpers(obj: BpfObject, calls: list[HelperCall], facts: KernelFacts) -> list[LoadFinding]:
    ids = facts.enum(FUNC_ENUM)
    out = []
    for call in calls:
        hid = call.helper_id
        name = enum_name(ids, hid, FUNC_PREFIX)
        if ids is None:
            outcome, message = Outcome.UNKNOWN, "the kernel BTF has no enum bpf_func_id"
        elif name is not None and hid < ids.get(FUNC_MAX, hid + 1):
            continue
        else:
            known = ids.get(FUNC_MAX, max(ids.values(), default=-1) + 1)
            outcome, message = Outcome.FAILS, f"not in this kernel's enum bpf_func_id (it knows helpers 1..{known - 1})"
        off, ref = call.insn * INSN_SZ, EnumRef(FUNC_ENUM, hid, FUNC_PREFIX)
        out.append(
            LoadFinding(
                Check.HELPER, outcome, call.section, ref.label(name), message, call.insn,
                obj.func_in(call.section, off), obj.line_in(call.section, off), ref,
            )
        )
    return out
