"""The object's programs (global functions of executable sections) and check 3: their program and attach types."""

from __future__ import annotations

from dataclasses import dataclass

from .findings import Check, LoadFinding, Outcome
from .insn import INSN_SZ
from .kfacts import KernelFacts
from .objfile import BpfObject
from .sections import SecDef, sec_def

PROG_ENUM, ATTACH_ENUM = "bpf_prog_type", "bpf_attach_type"


@dataclass(frozen=True, slots=True)
class Program:
    section: str
    name: str
    insn: int  # first instruction within the section
    sec: SecDef | None  # None: libbpf cannot tell the program type from the section name


def programs(obj: BpfObject) -> list[Program]:
    """libbpf's programs: every global function in an executable section other than .text."""
    out = []
    for section in sorted(obj.parts.programs):
        if section == ".text":
            continue
        d = sec_def(section)
        entries = obj.parts.entry_points(section)
        if not entries:  # no symbol table: fall back to .BTF.ext's functions
            ext = obj.ext.sections.get(section)
            starts = sorted({fi.insn_off for fi in ext.func_info}) if ext else [0]
            out.extend(Program(section, obj.func_in(section, s), s // INSN_SZ, d) for s in starts)
            continue
        out.extend(Program(section, e.name, e.offset // INSN_SZ, d) for e in entries)
    return out


def check_program_types(obj: BpfObject, progs: list[Program], facts: KernelFacts) -> list[LoadFinding]:
    out = []
    seen: set[str] = set()
    for p in progs:
        if p.section in seen:
            continue
        seen.add(p.section)
        line = obj.line_in(p.section, p.insn * INSN_SZ)
        if p.sec is None:
            out.append(
                LoadFinding(
                    Check.PROGRAM, Outcome.UNKNOWN, p.section, f"of {p.name}()",
                    "libbpf cannot tell the program type from this section name (the loader must set it)",
                    None, p.name, line,
                )
            )
            continue
        for enum, wanted, what in (
            (PROG_ENUM, p.sec.prog_enum, "enum bpf_prog_type"),
            (ATTACH_ENUM, p.sec.attach_type, "enum bpf_attach_type"),
        ):
            if not wanted:
                continue
            values = facts.enum(enum)
            if values is None:
                outcome, message = Outcome.UNKNOWN, f"the kernel BTF has no {what}"
            elif wanted in values:
                continue
            else:
                outcome, message = Outcome.FAILS, f"not in this kernel's {what}"
            out.append(LoadFinding(Check.PROGRAM, outcome, p.section, wanted, message, None, p.name, line))
    return out
