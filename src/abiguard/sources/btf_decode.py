"""Decoding one BTF type record into a model `Type`, checking everything the record itself says."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..model.types import Enumerator, IntEncoding, Kind, Member, Param, SecVar, Type

if TYPE_CHECKING:
    from .btf_types import BtfTypes

_INT_SIZES = frozenset({1, 2, 4, 8, 16})
_FLOAT_SIZES = frozenset({2, 4, 8, 12, 16})
_ENUM_SIZES = frozenset({1, 2, 4, 8})
_INT_ENCODINGS = frozenset({0, 1, 2, 4})
# Kinds whose size_or_type word is a type id (the rest carry a size or nothing).
_REF_KINDS = frozenset(
    {
        Kind.PTR,
        Kind.TYPEDEF,
        Kind.VOLATILE,
        Kind.CONST,
        Kind.RESTRICT,
        Kind.FUNC,
        Kind.FUNC_PROTO,
        Kind.VAR,
        Kind.DECL_TAG,
        Kind.TYPE_TAG,
    }
)
_NO_VLEN_KINDS = frozenset(
    {
        Kind.INT,
        Kind.PTR,
        Kind.ARRAY,
        Kind.FWD,
        Kind.TYPEDEF,
        Kind.VOLATILE,
        Kind.CONST,
        Kind.RESTRICT,
        Kind.VAR,
        Kind.FLOAT,
        Kind.DECL_TAG,
        Kind.TYPE_TAG,
    }
)
_KINDS = tuple(Kind(k) for k in range(20))
_U32 = 1 << 32


def decode_record(btf: BtfTypes, tid: int) -> Type:
    """The Type for own id `tid` (base ids excluded); raises AbiguardError naming the record's byte offset."""
    words = btf.words
    w = btf.starts[tid - btf.first_id]
    name_off, info, sot = words[w], words[w + 1], words[w + 2]
    kind_no = (info >> 24) & 0x7F
    vlen = info & 0xFFFFFF
    kflag = bool(info >> 31)
    limit = btf.count
    string_at = btf.string_at

    if kind_no >= 20:
        # Sized by the layout section only: keep the id (later ids depend on it), carry nothing.
        return Type(Kind.VOID)
    kind = _KINDS[kind_no]

    def bad(message: str, word: int = w) -> Exception:
        return btf.error(tid, word, message)

    try:
        name = string_at(name_off) if name_off else ""
    except LookupError as e:
        raise bad(f"name offset {name_off} {e.args[0]}") from None

    if kind in _NO_VLEN_KINDS and vlen:
        raise bad(f"{kind.name} record with nonzero vlen {vlen}")
    if kind in _REF_KINDS and sot >= limit:
        raise bad(f"{kind.name} refers to type id {sot}, beyond the last id {limit - 1}", w + 2)

    if kind == Kind.INT:
        data = words[w + 3]
        bits, offset, enc = data & 0xFF, (data >> 16) & 0xFF, (data >> 24) & 0xF
        if sot not in _INT_SIZES:
            raise bad(f"INT '{name}' has unsupported size {sot}", w + 2)
        if data & 0xF000FF00 or enc not in _INT_ENCODINGS:
            raise bad(f"INT '{name}' has invalid encoding word 0x{data:08x}", w + 3)
        if bits == 0 or bits + offset > 8 * sot:
            raise bad(f"INT '{name}' has {bits} bits at bit offset {offset} in a {sot}-byte int", w + 3)
        return Type(kind, name, size=sot, encoding=IntEncoding(enc), int_bits=bits, int_offset=offset)
    if kind == Kind.STRUCT or kind == Kind.UNION:
        members = []
        append = members.append
        at = w + 3
        for _ in range(vlen):
            m_name_off, m_type, m_off = words[at], words[at + 1], words[at + 2]
            if m_type >= limit or m_type == 0:
                raise bad(f"member type id {m_type} is {'void' if not m_type else 'out of range'}", at + 1)
            try:
                m_name = string_at(m_name_off) if m_name_off else ""
            except LookupError as e:
                raise bad(f"member name offset {m_name_off} {e.args[0]}", at) from None
            if kflag:
                append(Member(m_name, m_type, m_off & 0xFFFFFF, m_off >> 24))
            else:
                append(Member(m_name, m_type, m_off))
            at += 3
        return Type(kind, name, size=sot, members=tuple(members), kind_flag=kflag)
    if kind in _REF_KINDS and kind != Kind.FUNC_PROTO:
        if kind == Kind.VAR:
            return Type(kind, name, ref=sot, linkage=words[w + 3])
        if kind == Kind.DECL_TAG:
            idx = words[w + 3]
            idx = idx - _U32 if idx & 0x80000000 else idx
            if idx < -1:
                raise bad(f"DECL_TAG component_idx {idx} (must be -1 or a member/parameter index)", w + 3)
            return Type(kind, name, ref=sot, component_idx=idx, kind_flag=kflag)
        if kind == Kind.FUNC:
            if vlen > 2:
                raise bad(f"FUNC '{name}' has invalid linkage {vlen}")
            return Type(kind, name, ref=sot, linkage=vlen)
        return Type(kind, name, ref=sot, kind_flag=kflag)
    if kind == Kind.ARRAY:
        elem, index, nelems = words[w + 3], words[w + 4], words[w + 5]
        if elem >= limit or elem == 0:
            raise bad(f"ARRAY element type id {elem} is {'void' if not elem else 'out of range'}", w + 3)
        if index >= limit:
            raise bad(f"ARRAY index type id {index} is out of range", w + 4)
        return Type(kind, name, ref=elem, index_type=index, nelems=nelems)
    if kind == Kind.ENUM or kind == Kind.ENUM64:
        if sot not in _ENUM_SIZES:
            raise bad(f"{kind.name} '{name}' has unsupported size {sot}", w + 2)
        values = []
        at = w + 3
        step = 2 if kind == Kind.ENUM else 3
        for _ in range(vlen):
            e_name_off = words[at]
            if kind == Kind.ENUM:
                value = words[at + 1]
                if kflag and value & 0x80000000:
                    value -= _U32
            else:
                value = words[at + 2] << 32 | words[at + 1]
                if kflag and value >> 63:
                    value -= 1 << 64
            try:
                values.append(Enumerator(string_at(e_name_off) if e_name_off else "", value))
            except LookupError as e:
                raise bad(f"enumerator name offset {e_name_off} {e.args[0]}", at) from None
            at += step
        return Type(kind, name, size=sot, enumerators=tuple(values), signed=kflag, kind_flag=kflag)
    if kind == Kind.FUNC_PROTO:
        params = []
        at = w + 3
        for _ in range(vlen):
            p_name_off, p_type = words[at], words[at + 1]
            if p_type >= limit:
                raise bad(f"parameter type id {p_type} is out of range", at + 1)
            if p_type == 0 and (p_name_off or len(params) != vlen - 1):
                raise bad("void parameter that is not the unnamed last one (varargs)", at + 1)
            try:
                params.append(Param(string_at(p_name_off) if p_name_off else "", p_type))
            except LookupError as e:
                raise bad(f"parameter name offset {p_name_off} {e.args[0]}", at) from None
            at += 2
        return Type(kind, name, ref=sot, params=tuple(params))
    if kind == Kind.DATASEC:
        secvars = []
        at = w + 3
        for _ in range(vlen):
            v_type = words[at]
            if v_type >= limit or v_type == 0:
                raise bad(f"DATASEC variable type id {v_type} is {'void' if not v_type else 'out of range'}", at)
            secvars.append(SecVar(v_type, words[at + 1], words[at + 2]))
            at += 3
        return Type(kind, name, size=sot, vars=tuple(secvars))
    if kind == Kind.FLOAT:
        if sot not in _FLOAT_SIZES:
            raise bad(f"FLOAT '{name}' has unsupported size {sot}", w + 2)
        return Type(kind, name, size=sot)
    # FWD: kind_flag says union; the size word carries nothing.
    return Type(kind, name, kind_flag=kflag)


def edges(t: Type) -> list[int]:
    """Every type id a record refers to (void excluded), in record order."""
    k = t.kind
    if k == Kind.STRUCT or k == Kind.UNION:
        return [m.type for m in t.members]
    if k == Kind.ARRAY:
        return [t.ref, t.index_type] if t.index_type else [t.ref]
    if k == Kind.FUNC_PROTO:
        out = [p.type for p in t.params if p.type]
        if t.ref:
            out.insert(0, t.ref)
        return out
    if k == Kind.DATASEC:
        return [v.type for v in t.vars]
    if k in _REF_KINDS and t.ref:
        return [t.ref]
    return []
