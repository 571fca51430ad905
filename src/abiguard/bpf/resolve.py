"""CO-RE relocation resolution with libbpf's semantics: candidate matching, values, ambiguity, patch checks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from ..model import COMPOSITE_KINDS, ENUM_KINDS, IntEncoding, Kind, TypeGraph
from .btf_ext import CoreRelo, LineInfo, ReloKind
from .candidates import TargetKernel, find_candidates
from .compat import essential_name, fields_are_compat, types_are_compat, types_match
from .insn import Code, InsnError, ReloRes, check_patch
from .spec import MAX_SPEC_LEN, Accessor, Spec, SpecError, c_path, describe_steps, is_flex_array, parse_spec
from .spec import resolve_size as _size
from .spec import strip as _strip

_U64 = (1 << 64) - 1


class Status(StrEnum):
    OK = "ok"  # relocated to a target value
    ZERO = "zero"  # an exists/type relocation found nothing: yields 0, as designed
    POISONED = "poisoned"  # no match: libbpf replaces the instruction with an invalid call
    ERROR = "error"  # libbpf refuses the relocation: the object fails to load


class _Poison(Exception):
    """libbpf's -EUCLEAN: the instruction must be poisoned."""


@dataclass
class Calc:
    val: int = 0
    sz: int = 0
    type_id: int = 0
    validate: bool = True


@dataclass
class ReloResult:
    section: str
    func: str  # BPF function holding the instruction ("" if unknown)
    relo: CoreRelo
    local_type: str  # `struct pt_regs___s390`
    path: str  # C access path, `p->orig_gpr2`
    local_spec: str  # libbpf's log form
    status: Status
    reason: str = ""  # why it did not match / why libbpf refuses it
    orig_val: int | None = None
    new_val: int | None = None
    member: str = ""  # `struct user_pt_regs member orig_gpr2`: the last named step of the access
    target: str = ""  # the matched target's spec in libbpf's log form
    candidates: tuple[str, ...] = ()
    line: LineInfo | None = None
    reachable: bool = True  # for poisoned instructions: can the verifier reach it?
    used: frozenset[tuple[str, str | None]] = frozenset()  # (target type, member) the match relied on

    @property
    def failed(self) -> bool:
        """Would this relocation keep the program from loading on that kernel?"""
        return self.status == Status.ERROR or (self.status == Status.POISONED and self.reachable)


@dataclass
class ResolveContext:
    """Per object and kernel: libbpf's candidate cache, pruned as relocations match (order matters)."""

    local: TypeGraph
    kernel: TargetKernel
    cands: dict[int, list[int]] = field(default_factory=dict)
    # local type id -> the context of the module whose BTF supplies its candidates (vmlinux had none)
    in_module: dict[int, ResolveContext] = field(default_factory=dict)


# --- matching ------------------------------------------------------------------------------


def _match_member(
    lg: TypeGraph, local_acc: Accessor, tg: TypeGraph, targ_id: int, spec: Spec, why: list[str]
) -> tuple[int, int]:
    """bpf_core_match_member: (1 found / 0 not, next target type id); mutates spec exactly as libbpf does."""
    targ_id = _strip(tg, targ_id)
    tt = tg[targ_id]
    if tt.kind not in COMPOSITE_KINDS:
        why.append(f"incompatible member type: {tg.describe(targ_id)} is not a struct or union")
        return 0, targ_id
    local_member = lg[local_acc.type_id].members[local_acc.idx]
    for i, m in enumerate(tt.members):
        if len(spec.raw) == MAX_SPEC_LEN:
            raise SpecError("struct/union/array nesting is too deep")
        spec.bit_offset += m.bit_offset
        spec.raw.append(i)
        if not m.name:
            found, next_id = _match_member(lg, local_acc, tg, m.type, spec, why)
            if found:
                return found, next_id
        elif m.name == local_member.name:
            spec.accessors.append(Accessor(targ_id, i, m.name))
            if fields_are_compat(lg, local_member.type, tg, m.type):
                return 1, m.type
            # libbpf pops the accessor but leaves raw/bit_offset as they are
            spec.accessors.pop()
            why.append(
                f"incompatible member type: member '{m.name}' of {tg.describe(targ_id)} has incompatible type "
                f"{tg.c_name(m.type)} (local {lg.c_name(local_member.type)})"
            )
            return 0, m.type
        spec.bit_offset -= m.bit_offset
        spec.raw.pop()
    return 0, targ_id


def spec_match(local: Spec, tg: TypeGraph, targ_id: int) -> tuple[bool, Spec, str]:
    """bpf_core_spec_match: (matched, target spec, reason when not matched)."""
    lg = local.graph
    targ = Spec(tg, targ_id, local.kind)
    if local.kind.is_type:
        if local.kind == ReloKind.TYPE_MATCHES:
            ok = types_match(lg, local.root_type_id, tg, targ_id)
            return ok, targ, "" if ok else f"type mismatch: {tg.describe(targ_id)} does not match the local type"
        ok = types_are_compat(lg, local.root_type_id, tg, targ_id)
        return ok, targ, "" if ok else f"incompatible type: {tg.describe(targ_id)} differs in kind or shape"
    if local.kind.is_enumval:
        tid = _strip(tg, targ_id)
        tt = tg[tid]
        if tt.kind not in ENUM_KINDS:
            return False, targ, f"incompatible type: {tg.describe(tid)} is not an enum"
        want = essential_name(local.accessors[0].name or "")
        for i, e in enumerate(tt.enumerators):
            if essential_name(e.name) == want:
                targ.accessors.append(Accessor(tid, i, e.name))
                targ.raw.append(i)
                return True, targ, ""
        return False, targ, f"enumerator missing: {tg.describe(tid)} has no enumerator {local.accessors[0].name}"
    why: list[str] = []
    for i, acc in enumerate(local.accessors):
        targ_id = _strip(tg, targ_id)
        if acc.name is not None:
            found, targ_id = _match_member(lg, acc, tg, targ_id, targ, why)
            if not found:
                missing = f"member missing: {tg.describe(targ_id)} has no member '{acc.name}'"
                return False, targ, why[0] if why else missing
            continue
        if i > 0:
            tt = tg[targ_id]
            if tt.kind != Kind.ARRAY:
                return False, targ, f"incompatible member type: {tg.describe(targ_id)} is not an array"
            if not is_flex_array(tg, targ.accessors[-1], tt.nelems) and acc.idx >= tt.nelems:
                why_idx = f"offset out of range: index {acc.idx} is past the end of the target array of {tt.nelems}"
                return False, targ, why_idx
            targ_id = _strip(tg, tt.ref)
        if len(targ.raw) == MAX_SPEC_LEN:
            raise SpecError("struct/union/array nesting is too deep")
        targ.accessors.append(Accessor(targ_id, acc.idx))
        targ.raw.append(acc.idx)
        targ.bit_offset += acc.idx * _size(tg, targ_id) * 8
    return True, targ, ""


# --- values ---------------------------------------------------------------------------------


def _elem_size(g: TypeGraph, type_id: int) -> int:
    tid = _strip(g, type_id)
    while g[tid].kind == Kind.ARRAY:
        tid = _strip(g, g[tid].ref)
    return _size(g, tid)


def calc_field(spec: Spec | None, kind: ReloKind) -> Calc:
    """bpf_core_calc_field_relo for one side; _Poison when the target side has no spec."""
    out = Calc()
    if kind == ReloKind.FIELD_EXISTS:
        out.val = 1 if spec else 0
        return out
    if spec is None:
        raise _Poison
    g = spec.graph
    acc = spec.accessors[-1]
    if acc.name is None:
        if kind == ReloKind.FIELD_BYTE_OFFSET:
            out.val = spec.bit_offset // 8
            out.sz = _elem_size(g, acc.type_id)
            out.type_id = acc.type_id
        elif kind == ReloKind.FIELD_BYTE_SIZE:
            out.val = _size(g, acc.type_id)
        else:
            raise SpecError(f"relocation {kind.label} cannot be applied to an array element access")
        return out
    m = g[acc.type_id].members[acc.idx]
    field_type_id = _strip(g, m.type)
    mt = g[field_type_id]
    bit_off = spec.bit_offset
    bit_sz = m.bit_size
    bitfield = bit_sz > 0
    if bitfield:
        byte_sz = mt.size
        if byte_sz <= 0:
            raise SpecError(f"bitfield '{m.name}' has a type without size")
        byte_off = bit_off // 8 // byte_sz * byte_sz
        while bit_off + bit_sz - byte_off * 8 > byte_sz * 8:
            if byte_sz >= 8:
                raise SpecError(f"bitfield '{m.name}' cannot be read with one 64-bit load")
            byte_sz *= 2
            byte_off = bit_off // 8 // byte_sz * byte_sz
    else:
        byte_sz = _size(g, field_type_id)
        byte_off = bit_off // 8
        bit_sz = byte_sz * 8
    out.validate = not bitfield
    if kind == ReloKind.FIELD_BYTE_OFFSET:
        out.val = byte_off
        if not bitfield:
            out.sz = _elem_size(g, field_type_id)
            out.type_id = field_type_id
    elif kind == ReloKind.FIELD_BYTE_SIZE:
        out.val = byte_sz
    elif kind == ReloKind.FIELD_SIGNED:
        out.val = int(
            (mt.kind in ENUM_KINDS and mt.signed) or (mt.kind == Kind.INT and bool(mt.encoding & IntEncoding.SIGNED))
        )
        out.validate = True
    elif kind == ReloKind.FIELD_LSHIFT_U64:
        # libbpf computes this for the byte order of the machine it runs on, i.e. the kernel's
        if g.target.big_endian:
            out.val = (8 - byte_sz) * 8 + (bit_off - byte_off * 8)
        else:
            out.val = 64 - (bit_off + bit_sz - byte_off * 8)
    elif kind == ReloKind.FIELD_RSHIFT_U64:
        out.val = 64 - bit_sz
        out.validate = True
    return out


def calc_type(spec: Spec | None, kind: ReloKind) -> Calc:
    """bpf_core_calc_type_relo: type-based relocations yield 0 when nothing matched."""
    out = Calc()
    if spec is None:
        return out
    if kind == ReloKind.TYPE_ID_TARGET:
        out.val = spec.root_type_id
        out.validate = False  # ids change when objects are linked
    elif kind in (ReloKind.TYPE_EXISTS, ReloKind.TYPE_MATCHES):
        out.val = 1
    elif kind == ReloKind.TYPE_SIZE:
        out.val = _size(spec.graph, spec.root_type_id)
    return out


def enum_value(g: TypeGraph, type_id: int, idx: int) -> int:
    """An enumerator as libbpf hands it to the instruction: ENUM sign-extends its s32, ENUM64 is a u64."""
    t = g[type_id]
    v = t.enumerators[idx].value
    if t.kind == Kind.ENUM:
        v &= 0xFFFFFFFF
        v = v - (1 << 32) if v & 0x80000000 else v
    return v & _U64


def calc_enumval(spec: Spec | None, kind: ReloKind) -> Calc:
    out = Calc()
    if kind == ReloKind.ENUMVAL_EXISTS:
        out.val = 1 if spec else 0
        return out
    if spec is None:
        raise _Poison
    acc = spec.accessors[0]
    out.val = enum_value(spec.graph, acc.type_id, acc.idx)
    return out


def calc_relo(kind: ReloKind, local: Spec, targ: Spec | None) -> ReloRes:
    """bpf_core_calc_relo: both sides' values and the memory-size adjustment check."""
    res = ReloRes()
    fn = calc_field if kind.is_field else calc_type if kind.is_type else calc_enumval
    orig = fn(local, kind)
    res.orig_val, res.orig_sz, res.validate = orig.val & _U64, orig.sz, orig.validate
    try:
        new = fn(targ, kind)
    except _Poison:
        res.poison = True
        return res
    res.new_val, res.new_sz = new.val & _U64, new.sz
    if kind.is_field and res.orig_sz != res.new_sz and targ is not None:
        ot, nt = local.graph[orig.type_id], targ.graph[new.type_id]
        if ot.kind == Kind.PTR and nt.kind == Kind.PTR:
            return res
        if (
            ot.kind == Kind.INT
            and nt.kind == Kind.INT
            and ot.encoding != IntEncoding.SIGNED
            and nt.encoding != IntEncoding.SIGNED
        ):
            return res
        res.fail_memsz_adjust = True
    return res


# --- one relocation -------------------------------------------------------------------------


def resolve_relo(
    ctx: ResolveContext, section: str, func: str, relo: CoreRelo, code: Code, line: LineInfo | None
) -> ReloResult:
    """Resolve one relocation against ctx.kernel the way bpf_core_calc_relo_insn + patch_insn would."""
    ctx = _candidates_context(ctx, relo)
    lg, kernel = ctx.local, ctx.kernel
    tg = kernel.graph
    local_t = lg[relo.type_id]
    base = ReloResult(section, func, relo, lg.describe(relo.type_id), "", "", Status.OK, line=line)
    try:
        local = parse_spec(lg, relo.type_id, relo.access, relo.kind)
    except SpecError as e:
        return _with(base, status=Status.ERROR, reason=f"cannot parse the local access spec: {e}")
    base.path = _name_pointer(c_path(local), line)
    named = [a for a in local.accessors if a.name is not None]
    if relo.kind.is_field and named:
        base.member = f"{lg.describe(named[-1].type_id)} member {named[-1].name}"
    base.local_spec = describe_steps(local)
    try:
        return _resolve(ctx, base, local, local_t.name, relo, code, tg)
    except SpecError as e:
        return _with(base, status=Status.ERROR, reason=str(e))


def _candidates_context(ctx: ResolveContext, relo: CoreRelo) -> ResolveContext:
    """ctx itself, or, when vmlinux has no candidate for the local type and the kernel's modules are
    known, the context of the first module (by name) that has some: libbpf searches modules only then.
    (libbpf pools the candidates of every module; here the first module with any supplies them.)"""
    if relo.type_id in ctx.in_module:
        return ctx.in_module[relo.type_id]
    modules = ctx.kernel.modules
    local_t = ctx.local[relo.type_id]
    if modules is None or relo.kind == ReloKind.TYPE_ID_LOCAL or not local_t.name:
        return ctx
    if relo.type_id not in ctx.cands:
        ctx.cands[relo.type_id] = find_candidates(local_t, ctx.kernel)
    if ctx.cands[relo.type_id]:
        return ctx
    for _, module_kernel in modules.holding(essential_name(local_t.name)):
        cands = find_candidates(local_t, module_kernel)
        if cands:
            module_ctx = ResolveContext(ctx.local, module_kernel, {relo.type_id: cands})
            ctx.in_module[relo.type_id] = module_ctx
            return module_ctx
    return ctx


def _name_pointer(path: str, line: LineInfo | None) -> str:
    """`p->regs.orig_gpr2` becomes `ctx->regs.orig_gpr2` when the source line spells the access so."""
    if line is None or not path.startswith("p->"):
        return path
    steps = [re.escape(part) for part in re.split(r"(\[\d+\]|\.)", path[3:]) if part and part != "."]
    pattern = r"\b([A-Za-z_]\w*)\s*->\s*" + r"\s*\.?\s*".join(steps) + r"(?!\w)"
    m = re.search(pattern, line.text)
    return f"{m[1]}->{path[3:]}" if m else path


def _with(r: ReloResult, **changes: object) -> ReloResult:
    for k, v in changes.items():
        setattr(r, k, v)
    return r


def _resolve(
    ctx: ResolveContext, base: ReloResult, local: Spec, local_name: str, relo: CoreRelo, code: Code, tg: TypeGraph
) -> ReloResult:
    kind = relo.kind
    if kind == ReloKind.TYPE_ID_LOCAL:
        res = ReloRes(relo.type_id, relo.type_id, validate=False)
        return _patch(base, res, relo, code, Status.OK, "")
    if not local_name:
        return _with(base, status=Status.ERROR, reason="CO-RE relocations of anonymous types are not supported")
    cands = ctx.cands.get(relo.type_id)
    if cands is None:
        cands = find_candidates(ctx.local[relo.type_id], ctx.kernel)
        ctx.cands[relo.type_id] = cands
    base.candidates = tuple(f"[{c}] {tg.describe(c)}" for c in cands)
    matched: list[int] = []
    targ_res: ReloRes | None = None
    targ_spec: Spec | None = None
    reasons: list[str] = []
    for cand in cands:
        ok, cand_spec, why = spec_match(local, tg, cand)
        if not ok:
            reasons.append(why)
            continue
        cand_res = calc_relo(kind, local, cand_spec)
        if targ_res is None or targ_spec is None:
            targ_res, targ_spec = cand_res, cand_spec
        elif cand_spec.bit_offset != targ_spec.bit_offset:
            return _with(
                base,
                status=Status.ERROR,
                reason=f"ambiguous candidates: bit offset {cand_spec.bit_offset} bits in "
                f"{describe_steps(cand_spec)} != {targ_spec.bit_offset} bits in {describe_steps(targ_spec)}",
            )
        elif cand_res.poison != targ_res.poison or cand_res.new_val != targ_res.new_val:
            return _with(
                base,
                status=Status.ERROR,
                reason=f"ambiguous candidates: {describe_steps(cand_spec)} gives {_val(cand_res)} but "
                f"{describe_steps(targ_spec)} gives {_val(targ_res)}",
            )
        matched.append(cand)
    if matched:
        ctx.cands[relo.type_id] = matched
    if targ_res is None or targ_spec is None:
        res = calc_relo(kind, local, None)
        why = _no_match_reason(local_name, tg, cands, reasons, local)
        status = Status.POISONED if res.poison else Status.ZERO
        return _patch(base, res, relo, code, status, why)
    base.target = describe_steps(targ_spec)
    base.used = used_members(targ_spec)
    return _patch(base, targ_res, relo, code, Status.POISONED if targ_res.poison else Status.OK, "")


def _val(res: ReloRes) -> str:
    return "failure" if res.poison else str(res.new_val)


def _no_match_reason(name: str, tg: TypeGraph, cands: list[int], reasons: list[str], local: Spec) -> str:
    if not cands:
        what = local.graph.describe(local.root_type_id).split(" ")[0]
        ess = essential_name(name)
        kind_word = what if what in ("struct", "union", "enum", "typedef") else "type"
        return f"type missing: the kernel has no {kind_word} named '{ess}'"
    uniq = list(dict.fromkeys(reasons))
    return "; ".join(uniq) or "no candidate matched"


def _patch(base: ReloResult, res: ReloRes, relo: CoreRelo, code: Code, status: Status, why: str) -> ReloResult:
    base.orig_val = res.orig_val
    base.new_val = None if res.poison else res.new_val
    base.reason = why
    try:
        poison = check_patch(code, relo.insn_off, res, base.section)
    except InsnError as e:
        base.status = Status.ERROR
        base.reason = f"{why + '; ' if why else ''}{e}"
        return base
    if poison and not res.poison:
        base.status = Status.POISONED
        base.reason = "the load/store accesses the field with a size it cannot be adjusted to"
        base.new_val = None
        return base
    base.status = status
    return base


def used_members(spec: Spec) -> frozenset[tuple[str, str | None]]:
    """(target type, member) pairs a match relies on, as bpftool's min_core_btf marks them.

    A member of None stands for the type itself; anonymous members have the name "".
    """
    g = spec.graph
    out: set[tuple[str, str | None]] = {(g.describe(spec.root_type_id), None)}
    if spec.kind == ReloKind.TYPE_MATCHES:
        _mark_match(g, spec.root_type_id, False, out, set())
    if not spec.kind.is_field:
        return frozenset(out)
    tid = spec.root_type_id
    for idx in spec.raw[1:]:
        tid = _strip(g, tid)
        t = g[tid]
        if t.kind in COMPOSITE_KINDS:
            m = t.members[idx]
            out.add((g.describe(tid), m.name))
            tid = m.type
        elif t.kind == Kind.ARRAY:
            tid = t.ref
    return frozenset(out)


def _mark_match(g: TypeGraph, tid: int, behind_ptr: bool, out: set[tuple[str, str | None]], seen: set[int]) -> None:
    """btfgen_mark_type_match: every member of composites reached other than through a pointer."""
    while True:
        if (tid, behind_ptr) in seen:
            return
        seen.add((tid, behind_ptr))
        t = g[tid]
        if t.kind in COMPOSITE_KINDS:
            if behind_ptr:
                return
            for m in t.members:
                out.add((g.describe(tid), m.name))
                _mark_match(g, m.type, False, out, seen)
            return
        if t.kind in (Kind.CONST, Kind.VOLATILE, Kind.RESTRICT, Kind.TYPEDEF, Kind.FWD):
            tid = t.ref
        elif t.kind == Kind.PTR:
            tid, behind_ptr = t.ref, True
        elif t.kind == Kind.ARRAY:
            tid, behind_ptr = t.ref, False
        elif t.kind == Kind.FUNC_PROTO:
            for p in t.params:
                _mark_match(g, p.type, False, out, seen)
            tid, behind_ptr = t.ref, False
        else:
            return
