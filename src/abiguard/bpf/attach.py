"""Check 4: the attach target a section names exists in the kernel BTF, with the arguments the program reads.

fentry/fexit/fmod_ret need a FUNC, tp_btf a `btf_trace_<name>` typedef, LSM programs a
`bpf_lsm_<hook>` FUNC, iterators a `bpf_iter_<name>` FUNC. kprobes and syscalls attach through
kallsyms, so a function missing from BTF proves nothing there ("unknown"); so do classic
tracepoints, whose `btf_trace_` typedef only confirms them.
"""

from __future__ import annotations

from ..model import Kind
from .ctxflow import ctx_accesses
from .findings import Check, LoadFinding, Outcome
from .insn import INSN_SZ
from .kfacts import KernelFacts
from .objfile import BpfObject
from .programs import Program

# libbpf's per-arch syscall wrapper prefixes (arch_specific_syscall_pfx); a kernel has one of them.
_SYSCALL_PREFIXES = ("__x64_sys_", "__ia32_sys_", "__arm64_sys_", "__s390x_sys_", "__s390_sys_", "__riscv_sys_",
                     "__arm_sys_", "__powerpc_sys_", "__loongarch_sys_", "sys_")
_EXIT_TYPES = ("BPF_TRACE_FEXIT", "BPF_MODIFY_RETURN", "BPF_TRACE_FSESSION")


def check_attach(obj: BpfObject, progs: list[Program], facts: KernelFacts) -> list[LoadFinding]:
    out = []
    for p in progs:
        d = p.sec
        if d is None or not d.target:
            continue
        target = d.target_of(p.section)
        if not target or any(c in target for c in "*?"):
            continue  # set by the loader at run time, or a pattern
        problem = _problem(obj, p, d.target, d.attach_type, target, facts)
        if problem is not None:
            outcome, subject, message = problem
            line = obj.line_in(p.section, p.insn * INSN_SZ)
            out.append(LoadFinding(Check.ATTACH, outcome, p.section, subject, message, None, p.name, line))
    return out


def _problem(
    obj: BpfObject, p: Program, how: str, attach_type: str, target: str, facts: KernelFacts
) -> tuple[Outcome, str, str] | None:
    g = facts.graph
    if how == "func":
        if ":" in target:
            module, func = target.split(":", 1)
            if not facts.has_modules:
                return Outcome.UNKNOWN, target, "the target is in a module, whose BTF was not given"
            in_module = facts.module(module)
            if in_module is None and facts.kernel.modules is not None and not facts.kernel.modules.complete:
                return Outcome.UNKNOWN, target, f"module {module} is not loaded on the running kernel"
            if in_module is None:
                return Outcome.FAILS, target, f"the kernel has no module {module} with BTF"
            return _problem(obj, p, how, attach_type, func, in_module)
        funcs = facts.named(target, Kind.FUNC)
        if not funcs and not facts.kernel.split_start:
            for in_module in facts.module_facts(target):
                if in_module.named(target, Kind.FUNC):
                    return _problem(obj, p, how, attach_type, target, in_module)
        if not funcs:
            return Outcome.FAILS, target, "no such function in the kernel BTF"
        nargs = len([q for q in g[g[funcs[0]].ref].params if q.type or q.name])
        problem = _args_problem(obj, p, nargs, attach_type in _EXIT_TYPES, f"{target}()")
        if problem is not None:
            return problem
        if attach_type == "BPF_MODIFY_RETURN":
            return Outcome.UNKNOWN, target, "fmod_ret also needs the function to allow error injection, not in BTF"
        return None
    if how == "btf_trace":
        name = target.split(":")[-1]
        defs = facts.named(f"btf_trace_{name}", Kind.TYPEDEF)
        if not defs:
            return Outcome.FAILS, target, f"no tracepoint typedef btf_trace_{name} in the kernel BTF"
        proto = g[g.strip(defs[0])]
        nargs = len(g[proto.ref].params) - 1 if proto.kind == Kind.PTR else 0
        return _args_problem(obj, p, nargs, False, f"tracepoint {name}")
    if how == "tracepoint":
        name = target.split("/")[-1]
        if facts.named(f"btf_trace_{name}", Kind.TYPEDEF):
            return None
        return Outcome.UNKNOWN, target, f"no btf_trace_{name} typedef; BTF cannot show every tracepoint"
    if how == "lsm":
        if facts.named(f"bpf_lsm_{target}", Kind.FUNC):
            return None
        return Outcome.FAILS, target, f"no LSM hook bpf_lsm_{target} in the kernel BTF"
    if how == "iter":
        if facts.named(f"bpf_iter_{target}", Kind.FUNC):
            return None
        return Outcome.FAILS, target, f"no iterator bpf_iter_{target} in the kernel BTF"
    if how == "kprobe":
        func = target.split("+")[0]
        if facts.named(func, Kind.FUNC) or any(m.named(func, Kind.FUNC) for m in facts.module_facts(func)):
            return None
        return Outcome.UNKNOWN, func, "not in the kernel BTF, which omits some functions (kprobes use kallsyms)"
    if how == "ksyscall":
        if any(facts.named(pfx + target, Kind.FUNC) for pfx in _SYSCALL_PREFIXES):
            return None
        return Outcome.UNKNOWN, target, "no syscall function for it in the kernel BTF (kprobes use kallsyms)"
    return None


def _args_problem(obj: BpfObject, p: Program, nargs: int, has_ret: bool, what: str) -> tuple[Outcome, str, str] | None:
    """BTF-typed programs read argument i at ctx[i] (8 bytes each); the verifier stops reads past the last."""
    key = f"ctx-reads:{p.section}:{p.insn}"
    reads = obj.memo.get(key)
    if not isinstance(reads, list):
        reads = obj.memo[key] = [a for a in ctx_accesses(obj.program_code(p.section), p.insn) if not a.write]
    if not reads:
        return None
    top = max(a.offset for a in reads) // 8
    limit = nargs + (1 if has_ret else 0)
    if top < limit:
        return None
    return Outcome.FAILS, what, f"the program reads argument {top + 1} but the kernel's {what} has {nargs}"
