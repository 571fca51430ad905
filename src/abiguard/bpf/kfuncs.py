"""Check 2: `__ksym` externs -- kfuncs and kernel variables -- exist in the kernel BTF with compatible types.

libbpf binds each extern FUNC of the object's `.ksyms` DATASEC to a kernel FUNC of the same essential
name whose FUNC_PROTO is compatible (bpf_core_types_are_compat), and each typed extern VAR to a kernel
VAR; a weak extern that does not bind is poisoned instead of failing the load.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..model import Kind
from .compat import types_are_compat
from .findings import Check, LoadFinding, Outcome
from .insn import INSN_SZ
from .kfacts import KernelFacts
from .objfile import BpfObject
from .reach import reachable

_CALL = 0x85
Problem = tuple[Outcome, str] | None


@dataclass(frozen=True, slots=True)
class Ksym:
    name: str
    type_id: int  # the object's FUNC or VAR
    is_func: bool
    weak: bool
    sites: tuple[tuple[str, int], ...]  # (section, insn) of each call (kfuncs) or reference


def ksyms(obj: BpfObject) -> list[Ksym]:
    """The object's `.ksyms` externs, in BTF order, with the instructions that use them."""
    g = obj.btf
    secs = [i for i in g.ids_named(".ksyms") if g[i].kind == Kind.DATASEC]
    if not secs:
        return []
    weak = obj.parts.weak_externs()
    sites: dict[str, list[tuple[str, int]]] = {}
    for section, relocs in sorted(obj.parts.relocs.items()):
        code = obj.program_code(section)
        for off, sym in sorted(relocs.items()):
            if sym.undefined and off // INSN_SZ < len(code):
                sites.setdefault(sym.name, []).append((section, off // INSN_SZ))
    out = []
    for sv in g[secs[0]].vars:
        t = g[sv.type]
        if t.kind not in (Kind.FUNC, Kind.VAR):
            continue
        used = sites.get(t.name, [])
        if t.kind == Kind.FUNC:
            used = [(s, i) for s, i in used if obj.program_code(s).insn(i).code == _CALL]
        out.append(Ksym(t.name, sv.type, t.kind == Kind.FUNC, t.name in weak, tuple(used)))
    return out


def check_ksyms(obj: BpfObject, syms: list[Ksym], facts: KernelFacts) -> list[LoadFinding]:
    out = []
    for sym in syms:
        problem = _kfunc_problem(obj, sym, facts) if sym.is_func else _var_problem(obj, sym, facts)
        if problem is None:
            continue
        outcome, message = problem
        sites: tuple[tuple[str, int | None], ...] = sym.sites or (("", None),)
        if sym.weak and outcome == Outcome.FAILS:
            if not sym.is_func:
                continue  # an unresolved weak variable reads as NULL; the verifier makes the program check it
            # libbpf poisons calls to an unresolved weak kfunc; only reachable ones stop the load
            sites = tuple((s, i) for s, i in sym.sites if i in _live(obj, s, {i for t, i in sym.sites if t == s}))
            message += "; the extern is weak, but this call is not guarded by bpf_ksym_exists()"
        check = Check.KFUNC if sym.is_func else Check.KSYM
        for section, insn in sites:
            off = (insn or 0) * INSN_SZ
            out.append(
                LoadFinding(
                    check, outcome, section or ".ksyms", sym.name, message, insn,
                    obj.func_in(section, off) if section else "", obj.line_in(section, off) if section else None,
                )
            )
    return out


def _in_modules(
    obj: BpfObject, sym: Ksym, facts: KernelFacts, check: Callable[[BpfObject, Ksym, KernelFacts], Problem]
) -> Problem:
    """vmlinux has no such symbol: the first module that binds it, else the first module's problem."""
    first: Problem = None
    for module in facts.module_facts(sym.name):
        problem = check(obj, sym, module)
        if problem is None:
            return None
        first = first or problem
    return first


def _kfunc_problem(obj: BpfObject, sym: Ksym, facts: KernelFacts) -> Problem:
    kg, lg = facts.graph, obj.btf
    found = facts.funcs_for(sym.name)
    if not found and facts.has_modules and not facts.kernel.split_start:
        return _in_modules(obj, sym, facts, _kfunc_problem) or (Outcome.FAILS, "no such function in the kernel BTF")
    if not found:
        return Outcome.FAILS, "no such function in the kernel BTF"
    local_proto = lg[sym.type_id].ref
    compatible = [i for i in found if types_are_compat(lg, local_proto, kg, kg[i].ref)]
    if not compatible:
        return Outcome.FAILS, (
            f"the kernel's {kg.c_name(kg[found[0]].ref, sym.name)} is incompatible with the object's "
            f"{lg.c_name(local_proto, sym.name)}"
        )
    tagged = facts.kfunc_ids()
    if tagged is None:
        return Outcome.UNKNOWN, (
            "the function exists with a compatible prototype, but this kernel's BTF does not mark kfuncs "
            "(no bpf_kfunc tags): whether BPF may call it is not in BTF"
        )
    if not any(i in tagged for i in compatible):
        return Outcome.FAILS, "the function exists but is not a kfunc on this kernel (no bpf_kfunc tag)"
    return None


def _var_problem(obj: BpfObject, sym: Ksym, facts: KernelFacts) -> Problem:
    lg, kg = obj.btf, facts.graph
    local_type = lg.strip(lg[sym.type_id].ref)
    if lg[local_type].kind == Kind.VOID:
        return Outcome.UNKNOWN, "a typeless ksym is resolved through kallsyms, which BTF does not show"
    found = facts.named(sym.name, Kind.VAR)
    if not found and facts.has_modules and not facts.kernel.split_start:
        return _in_modules(obj, sym, facts, _var_problem) or (Outcome.FAILS, "no such variable in the kernel BTF")
    if not found:
        return Outcome.FAILS, "no such variable in the kernel BTF"
    if not any(types_are_compat(lg, local_type, kg, kg.strip(kg[i].ref)) for i in found):
        return Outcome.FAILS, f"the kernel's {kg.c_name(kg[found[0]].ref, sym.name)} has an incompatible type"
    return None


def _live(obj: BpfObject, section: str, poisoned: set[int]) -> set[int]:
    """Instructions the verifier reaches with the poisoned calls in place (an unresolved extern's address is 0)."""
    ext = obj.ext.sections.get(section)
    entries = sorted({fi.insn_off // INSN_SZ for fi in ext.func_info}) if ext else [0]
    return reachable(obj.program_code(section), entries or [0], poisoned)
