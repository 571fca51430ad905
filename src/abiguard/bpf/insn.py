"""BPF instructions: decoding and libbpf's bpf_core_patch_insn checks on the relocated instruction."""

from __future__ import annotations

import struct
from dataclasses import dataclass

INSN_SZ = 8
_U64 = (1 << 64) - 1
SHRT_MAX = 32767

CLASS_LD, CLASS_LDX, CLASS_ST, CLASS_STX, CLASS_ALU, CLASS_JMP, CLASS_JMP32, CLASS_ALU64 = range(8)
LD_IMM64 = 0x18  # BPF_LD | BPF_IMM | BPF_DW
_SIZE_BYTES = {0x18: 8, 0x00: 4, 0x08: 2, 0x10: 1}  # BPF_DW, BPF_W, BPF_H, BPF_B
_BYTES_SIZE = {v: k for k, v in _SIZE_BYTES.items()}


@dataclass
class ReloRes:
    """bpf_core_relo_res: original and new value, and how the instruction gets patched."""

    orig_val: int = 0
    new_val: int = 0
    poison: bool = False
    validate: bool = True
    orig_sz: int = 0
    new_sz: int = 0
    fail_memsz_adjust: bool = False


class InsnError(Exception):
    """The instruction cannot be patched: libbpf fails the object load."""


@dataclass(frozen=True, slots=True)
class Insn:
    code: int
    dst: int
    src: int
    off: int  # s16
    imm: int  # s32

    @property
    def cls(self) -> int:
        return self.code & 0x07


@dataclass(frozen=True)
class Code:
    """A program section's instructions in the object's byte order."""

    data: bytes
    big_endian: bool

    def __len__(self) -> int:
        return len(self.data) // INSN_SZ

    def insn(self, idx: int) -> Insn:
        code, regs = self.data[idx * 8], self.data[idx * 8 + 1]
        off, imm = struct.unpack_from(">hi" if self.big_endian else "<hi", self.data, idx * 8 + 2)
        # bpfeb keeps dst_reg in the high nibble, bpfel in the low one
        dst, src = (regs >> 4, regs & 0xF) if self.big_endian else (regs & 0xF, regs >> 4)
        return Insn(code, dst, src, off, imm)


def check_patch(code: Code, insn_off: int, res: ReloRes, section: str) -> bool:
    """Apply libbpf's patch checks; True when the instruction ends up poisoned by a size mismatch."""
    if insn_off % INSN_SZ or insn_off // INSN_SZ >= len(code):
        raise InsnError(f"instruction offset {insn_off} is outside section '{section}' ({len(code.data)} bytes)")
    idx = insn_off // INSN_SZ
    if res.poison:
        return False
    insn = code.insn(idx)
    orig, new = res.orig_val, res.new_val
    cls = insn.cls
    if cls in (CLASS_ALU, CLASS_ALU64):
        if insn.code & 0x08:
            raise InsnError(f"insn #{idx}: ALU instruction with a register operand cannot be relocated")
        if res.validate and (insn.imm & _U64) != orig:
            raise InsnError(f"insn #{idx} (ALU) holds {insn.imm}, expected the local value {orig}")
        return False
    if cls in (CLASS_LDX, CLASS_ST, CLASS_STX):
        if res.validate and (insn.off & _U64) != orig:
            raise InsnError(f"insn #{idx} (LDX/ST/STX) holds offset {insn.off}, expected the local value {orig}")
        if new > SHRT_MAX:
            raise InsnError(f"offset out of range: insn #{idx} (LDX/ST/STX) offset {new} does not fit in 16 bits")
        if res.fail_memsz_adjust:
            return True
        if res.new_sz != res.orig_sz:
            got = _SIZE_BYTES.get(insn.code & 0x18, -1)
            if got != res.orig_sz:
                raise InsnError(f"insn #{idx} (LDX/ST/STX) accesses {got} bytes, expected {res.orig_sz}")
            if res.new_sz not in _BYTES_SIZE:
                raise InsnError(f"insn #{idx} (LDX/ST/STX) would need an invalid access size {res.new_sz}")
        return False
    if cls == CLASS_LD:
        if idx + 1 >= len(code):
            raise InsnError(f"insn #{idx} (LDIMM64) is missing its second half")
        hi = code.insn(idx + 1)
        if insn.code != LD_IMM64 or insn.src or insn.off or hi.code or hi.dst or hi.src or hi.off:
            raise InsnError(f"insn #{idx} (LDIMM64) has unexpected form")
        imm = (insn.imm & 0xFFFFFFFF) | ((hi.imm & 0xFFFFFFFF) << 32)
        if res.validate and imm != orig:
            raise InsnError(f"insn #{idx} (LDIMM64) holds {imm}, expected the local value {orig}")
        return False
    raise InsnError(f"insn #{idx} (code {insn.code:#x}) is not an instruction CO-RE can relocate")
