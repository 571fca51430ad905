"""libbpf's CO-RE type compatibility rules: field compat, type compat, and TYPE_MATCHES."""

from __future__ import annotations

from ..model import COMPOSITE_KINDS, ENUM_KINDS, IntEncoding, Kind, Type, TypeGraph
from .spec import SpecError

_MAX_DEPTH = 32


def essential_name(name: str) -> str:
    """The name without its last `___flavor` suffix (X___Y with X, Y not underscores)."""
    n = len(name)
    for i in range(n - 5, -1, -1):
        if name[i] != "_" and name[i + 1 : i + 4] == "___" and name[i + 4] != "_":
            return name[: i + 1]
    return name


def kinds_compat(a: Type, b: Type) -> bool:
    """btf_kind_core_compat: same kind, with ENUM and ENUM64 interchangeable."""
    return a.kind == b.kind or (a.kind in ENUM_KINDS and b.kind in ENUM_KINDS)


def fields_are_compat(lg: TypeGraph, lid: int, tg: TypeGraph, tid: int) -> bool:
    """bpf_core_fields_are_compat: may a local member type be relocated to this target member type?"""
    for _ in range(_MAX_DEPTH * 4):
        lt, tt = lg[lg.strip(lid)], tg[tg.strip(tid)]
        if lt.kind in COMPOSITE_KINDS and tt.kind in COMPOSITE_KINDS:
            return True
        if not kinds_compat(lt, tt):
            return False
        k = lt.kind
        if k in (Kind.PTR, Kind.FLOAT):
            return True
        if k in (Kind.FWD, Kind.ENUM, Kind.ENUM64):
            ln, tn = essential_name(lt.name), essential_name(tt.name)
            return not ln or not tn or ln == tn
        if k == Kind.INT:
            return lt.int_offset == 0 and tt.int_offset == 0
        if k == Kind.ARRAY:
            lid, tid = lt.ref, tt.ref
            continue
        return False
    raise SpecError("array nesting too deep while checking field compatibility")


def types_are_compat(lg: TypeGraph, lid: int, tg: TypeGraph, tid: int, level: int = _MAX_DEPTH) -> bool:
    """__bpf_core_types_are_compat: the looser check behind TYPE_EXISTS/TYPE_SIZE/TYPE_ID_TARGET."""
    if not kinds_compat(lg[lid], tg[tid]):
        return False
    depth = _MAX_DEPTH
    while True:
        depth -= 1
        if depth < 0:
            raise SpecError("type nesting too deep while checking type compatibility")
        lid, tid = lg.strip(lid), tg.strip(tid)
        lt, tt = lg[lid], tg[tid]
        if not kinds_compat(lt, tt):
            return False
        k = lt.kind
        if k in (Kind.VOID, Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.ENUM64, Kind.FWD):
            return True
        if k == Kind.INT:
            return lt.int_offset == 0 and tt.int_offset == 0
        if k in (Kind.PTR, Kind.ARRAY):
            lid, tid = lt.ref, tt.ref
            continue
        if k == Kind.FUNC_PROTO:
            if len(lt.params) != len(tt.params):
                return False
            for lp, tp in zip(lt.params, tt.params, strict=True):
                if level <= 0:
                    raise SpecError("function prototypes nest too deeply")
                if not types_are_compat(lg, lg.strip(lp.type), tg, tg.strip(tp.type), level - 1):
                    return False
            lid, tid = lg.strip(lt.ref), tg.strip(tt.ref)
            continue
        return False


def names_match(local: str, targ: str) -> bool:
    """bpf_core_names_match: an anonymous target matches only anonymous; else essential names equal."""
    if not targ:
        return not local
    return essential_name(local) == essential_name(targ)


def _int_signed(t: Type) -> bool:
    return bool(t.encoding & IntEncoding.SIGNED)


def types_match(
    lg: TypeGraph, lid: int, tg: TypeGraph, tid: int, behind_ptr: bool = False, level: int = _MAX_DEPTH
) -> bool:
    """__bpf_core_types_match: the strict TYPE_MATCHES relation (sizes, signedness, members, enumerators)."""
    if level <= 0:
        raise SpecError("types nest too deeply for TYPE_MATCHES")
    depth = _MAX_DEPTH
    while True:
        depth -= 1
        if depth < 0:
            raise SpecError("types nest too deeply for TYPE_MATCHES")
        lid, tid = lg.strip(lid), tg.strip(tid)
        lt, tt = lg[lid], tg[tid]
        if not names_match(lt.name, tt.name):
            return False
        lk, tk = lt.kind, tt.kind
        if lk == Kind.VOID:
            return tk == Kind.VOID
        if lk == Kind.FWD:
            if behind_ptr:
                if lk == tk:
                    return lt.kind_flag == tt.kind_flag
                return (tk == Kind.STRUCT and not lt.kind_flag) or (tk == Kind.UNION and lt.kind_flag)
            return lk == tk and lt.kind_flag == tt.kind_flag
        if lk in ENUM_KINDS:
            return tk in ENUM_KINDS and _enums_match(lt, tt)
        if lk in COMPOSITE_KINDS:
            if behind_ptr:
                if lk == tk:
                    return True
                return tk == Kind.FWD and (lk == Kind.UNION) == tt.kind_flag
            return lk == tk and _composites_match(lg, lt, tg, tt, level)
        if lk == Kind.INT:
            return tk == Kind.INT and lt.size == tt.size and _int_signed(lt) == _int_signed(tt)
        if lk == Kind.PTR:
            if tk != lk:
                return False
            behind_ptr = True
            lid, tid = lt.ref, tt.ref
            continue
        if lk == Kind.ARRAY:
            if tk != lk or lt.nelems != tt.nelems:
                return False
            lid, tid = lt.ref, tt.ref
            continue
        if lk == Kind.FUNC_PROTO:
            if tk != lk or len(lt.params) != len(tt.params):
                return False
            for lp, tp in zip(lt.params, tt.params, strict=True):
                if not types_match(lg, lp.type, tg, tp.type, behind_ptr, level - 1):
                    return False
            lid, tid = lt.ref, tt.ref
            continue
        return False


def _enums_match(lt: Type, tt: Type) -> bool:
    if lt.size != tt.size or len(lt.enumerators) > len(tt.enumerators):
        return False
    return all(any(names_match(le.name, te.name) for te in tt.enumerators) for le in lt.enumerators)


def _composites_match(lg: TypeGraph, lt: Type, tg: TypeGraph, tt: Type, level: int) -> bool:
    if len(lt.members) > len(tt.members):
        return False
    for lm in lt.members:
        if not any(
            names_match(lm.name, tm.name) and types_match(lg, lm.type, tg, tm.type, False, level - 1)
            for tm in tt.members
        ):
            return False
    return True
