"""Check 6: a program reads its UAPI context struct at fixed offsets -- do they hit the same members on the kernel?

The program was compiled against one layout of its context (`struct bpf_perf_event_data`,
`struct __sk_buff`, ...). Where the object's BTF has that struct, each access's member path in it is
what the program meant; the kernel's BTF says what the same offset is on that kernel. Without the
struct in the object, an access that lands on no member of the kernel's layout is all we can show.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model import COMPOSITE_KINDS, Kind, TypeGraph
from .ctxflow import CtxAccess, ctx_accesses
from .findings import Check, LoadFinding, Outcome
from .insn import INSN_SZ
from .kfacts import KernelFacts
from .objfile import BpfObject
from .programs import Program

CONTEXT_STRUCTS = {
    "PERF_EVENT": "bpf_perf_event_data",
    "SOCKET_FILTER": "__sk_buff",
    "SCHED_CLS": "__sk_buff",
    "SCHED_ACT": "__sk_buff",
    "CGROUP_SKB": "__sk_buff",
    "LWT_IN": "__sk_buff",
    "LWT_OUT": "__sk_buff",
    "LWT_XMIT": "__sk_buff",
    "LWT_SEG6LOCAL": "__sk_buff",
    "SK_SKB": "__sk_buff",
    "FLOW_DISSECTOR": "__sk_buff",
    "XDP": "xdp_md",
    "SK_MSG": "sk_msg_md",
    "SOCK_OPS": "bpf_sock_ops",
    "CGROUP_SOCK": "bpf_sock",
    "CGROUP_SOCK_ADDR": "bpf_sock_addr",
    "CGROUP_SYSCTL": "bpf_sysctl",
    "CGROUP_SOCKOPT": "bpf_sockopt",
    "SK_REUSEPORT": "sk_reuseport_md",
    "SK_LOOKUP": "bpf_sk_lookup",
    "CGROUP_DEVICE": "bpf_cgroup_dev_ctx",
    "RAW_TRACEPOINT": "bpf_raw_tracepoint_args",
}


@dataclass(frozen=True, slots=True)
class CtxUse:
    """The context accesses of one program."""

    program: Program
    struct: str
    accesses: tuple[CtxAccess, ...]


def context_uses(obj: BpfObject, progs: list[Program]) -> list[CtxUse]:
    out = []
    for p in progs:
        struct = CONTEXT_STRUCTS.get(p.sec.prog_type) if p.sec else None
        if struct is None:
            continue
        ext = obj.ext.sections.get(p.section)
        relocated = frozenset(r.insn_off // INSN_SZ for r in ext.core_relos) if ext else frozenset()
        accesses = ctx_accesses(obj.program_code(p.section), p.insn, relocated)
        if accesses:
            out.append(CtxUse(p, struct, tuple(accesses)))
    return out


def member_path(g: TypeGraph, type_id: int, offset: int, size: int) -> list[str] | None:
    """Member names from the struct down to the leaf member holding bytes [offset, offset+size); None if none."""
    path: list[str] = []
    tid = g.strip(type_id)
    while True:
        t = g[tid]
        if t.kind in COMPOSITE_KINDS:
            hit = None
            for i, m in enumerate(t.members):
                if m.is_bitfield:
                    continue
                start, msize = m.offset, g.size_of(m.type)
                if msize == 0 and i == len(t.members) - 1 and g[g.strip(m.type)].kind == Kind.ARRAY:
                    msize = max(offset + size - start, 0)  # a flexible array holds whatever follows
                if start <= offset and offset + size <= start + msize and (m.name or g[g.strip(m.type)].is_composite):
                    hit = m
                    break
            if hit is None:
                return path or None
            if hit.name:
                path.append(hit.name)
            offset -= hit.offset
            tid = g.strip(hit.type)
        elif t.kind == Kind.ARRAY:
            esize = g.size_of(t.ref)
            if esize <= 0:
                return path
            idx, offset = divmod(offset, esize)
            if path:
                path[-1] += f"[{idx}]"
            tid = g.strip(t.ref)
        else:
            return path


def _struct_id(g: TypeGraph, name: str) -> int | None:
    ids = [i for i in g.ids_named(name) if g[i].kind == Kind.STRUCT]
    return ids[0] if ids else None


def check_context(obj: BpfObject, uses: list[CtxUse], facts: KernelFacts) -> list[LoadFinding]:
    out = []
    kg = facts.graph
    for use in uses:
        p = use.program
        kid = _struct_id(kg, use.struct)
        lid = _struct_id(obj.btf, use.struct)
        for a in use.accesses:
            line, verb = obj.line_in(p.section, a.insn * INSN_SZ), "writes" if a.write else "reads"
            span = f"bytes {a.offset}..{a.offset + a.size - 1} of struct {use.struct}"
            if kid is None:
                out.append(
                    LoadFinding(Check.CONTEXT, Outcome.UNKNOWN, p.section, f"struct {use.struct}",
                                f"{verb} {span}, but the kernel BTF has no struct {use.struct}", a.insn, p.name, line)
                )
                continue
            theirs = member_path(kg, kid, a.offset, a.size)
            ours = member_path(obj.btf, lid, a.offset, a.size) if lid is not None else None
            if theirs is None:
                meant = f" (meant `{'.'.join(ours)}`)" if ours else ""
                out.append(
                    LoadFinding(Check.CONTEXT, Outcome.FAILS, p.section, f"struct {use.struct}",
                                f"{verb} {span}{meant}: no member there on this kernel", a.insn, p.name, line)
                )
            elif ours is not None and ours[0] != theirs[0]:
                out.append(
                    LoadFinding(
                        Check.CONTEXT, Outcome.FAILS, p.section, f"struct {use.struct}",
                        f"{verb} `{'.'.join(theirs)}` where it meant `{'.'.join(ours)}` "
                        f"(offset {a.offset}, {a.size} bytes)",
                        a.insn, p.name, line,
                    )
                )
    return out
