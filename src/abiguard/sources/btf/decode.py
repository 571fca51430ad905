"""Decoding one BTF type record into a model `Type`, checking everything the record itself says."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ...errors import AbiguardError
from ...model.types import Enumerator, IntEncoding, Kind, Member, Param, SecVar, Type


class RawRecords(Protocol):
    """What decoding reads of a BTF type table (table.BtfTypes provides it)."""

    words: Sequence[int]
    starts: Sequence[int]
    first_id: int
    count: int
    str_cache: dict[int, str]

    def string_at(self, off: int) -> str: ...

    def error(self, tid: int, word: int, message: str) -> AbiguardError: ...

_INT_SIZES = frozenset({1, 2, 4, 8, 16})
_FLOAT_SIZES = frozenset({2, 4, 8, 12, 16})
_ENUM_SIZES = frozenset({1, 2, 4, 8})
_KINDS = tuple(Kind(k) for k in range(20))
_U32 = 1 << 32
# Plain ints: comparing against Kind members costs an attribute lookup each time, and this is the hot loop.
_INT, _PTR, _ARRAY, _STRUCT, _UNION, _ENUM, _FWD = 1, 2, 3, 4, 5, 6, 7
_FUNC, _FUNC_PROTO, _VAR, _DATASEC, _FLOAT, _DECL_TAG, _ENUM64 = 12, 13, 14, 15, 16, 17, 19
# Kinds whose size_or_type word is a type id: PTR, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, FUNC_PROTO,
# VAR, DECL_TAG, TYPE_TAG.
_REF_KINDS = frozenset({2, 8, 9, 10, 11, 12, 13, 14, 17, 18})
# Kinds whose vlen must be zero: INT, PTR, ARRAY, FWD, TYPEDEF, modifiers, VAR, FLOAT, DECL_TAG, TYPE_TAG.
_NO_VLEN_KINDS = frozenset({1, 2, 3, 7, 8, 9, 10, 11, 14, 16, 17, 18})
# Kinds whose only payload is name + ref (+ kind_flag): PTR, TYPEDEF, VOLATILE, CONST, RESTRICT, TYPE_TAG.
_PLAIN_REF_KINDS = frozenset({2, 8, 9, 10, 11, 18})


def decode_record(btf: RawRecords, tid: int) -> Type:
    """The Type for own id `tid` (base ids excluded); raises AbiguardError naming the record's byte offset."""
    words = btf.words
    w = btf.starts[tid - btf.first_id]
    name_off, info, sot = words[w], words[w + 1], words[w + 2]
    k = (info >> 24) & 0x7F
    vlen = info & 0xFFFFFF
    kflag = info >> 31 == 1
    limit = btf.count
    string_at = btf.string_at
    cached = btf.str_cache.get

    if k >= 20:
        # Sized by the layout section only: keep the id (later ids depend on it), carry nothing.
        return Type(Kind.VOID)
    kind = _KINDS[k]

    # Errors go through btf.error(tid, word, ...) directly: a local closure would turn the hot locals
    # into cell variables and slow every record down.
    if name_off:
        try:
            name = cached(name_off) or string_at(name_off)
        except LookupError as e:
            raise btf.error(tid, w, f"name offset {name_off} {e.args[0]}") from None
    else:
        name = ""
    if vlen and k in _NO_VLEN_KINDS:
        raise btf.error(tid, w, f"{kind.name} record with nonzero vlen {vlen}")
    if sot >= limit and k in _REF_KINDS:
        raise btf.error(tid, w + 2, f"{kind.name} refers to type id {sot}, beyond the last id {limit - 1}")

    if k == _FUNC:
        if vlen > 2:
            raise btf.error(tid, w, f"FUNC '{name}' has invalid linkage {vlen}")
        return Type(kind, name, ref=sot, linkage=vlen)
    if k == _FUNC_PROTO:
        params = []
        at = w + 3
        for _ in range(vlen):
            p_name_off, p_type = words[at], words[at + 1]
            if p_type >= limit:
                raise btf.error(tid, at + 1, f"parameter type id {p_type} is out of range")
            if p_type == 0 and (p_name_off or len(params) != vlen - 1):
                raise btf.error(tid, at + 1, "void parameter that is not the unnamed last one (varargs)")
            try:
                params.append(Param(string_at(p_name_off) if p_name_off else "", p_type))
            except LookupError as e:
                raise btf.error(tid, at, f"parameter name offset {p_name_off} {e.args[0]}") from None
            at += 2
        return Type(kind, name, ref=sot, params=tuple(params))
    if k in _PLAIN_REF_KINDS:
        return Type(kind, name, ref=sot, kind_flag=kflag)
    if k in (_STRUCT, _UNION):
        members = []
        append = members.append
        at = w + 3
        for _ in range(vlen):
            m_name_off, m_type, m_off = words[at], words[at + 1], words[at + 2]
            if m_type >= limit or m_type == 0:
                raise btf.error(tid, at + 1, f"member type id {m_type} is {'void' if not m_type else 'out of range'}")
            try:
                m_name = (cached(m_name_off) or string_at(m_name_off)) if m_name_off else ""
            except LookupError as e:
                raise btf.error(tid, at, f"member name offset {m_name_off} {e.args[0]}") from None
            if kflag:
                append(Member(m_name, m_type, m_off & 0xFFFFFF, m_off >> 24))
            else:
                append(Member(m_name, m_type, m_off))
            at += 3
        return Type(kind, name, size=sot, members=tuple(members), kind_flag=kflag)
    if k == _ARRAY:
        elem, index, nelems = words[w + 3], words[w + 4], words[w + 5]
        if elem >= limit or elem == 0:
            raise btf.error(tid, w + 3, f"ARRAY element type id {elem} is {'void' if not elem else 'out of range'}")
        if index >= limit:
            raise btf.error(tid, w + 4, f"ARRAY index type id {index} is out of range")
        return Type(kind, name, ref=elem, index_type=index, nelems=nelems)
    if k in (_ENUM, _ENUM64):
        if sot not in _ENUM_SIZES:
            raise btf.error(tid, w + 2, f"{kind.name} '{name}' has unsupported size {sot}")
        values = []
        at = w + 3
        wide = k == _ENUM64
        for _ in range(vlen):
            e_name_off = words[at]
            if wide:
                value = words[at + 2] << 32 | words[at + 1]
                if kflag and value >> 63:
                    value -= 1 << 64
                step = 3
            else:
                value = words[at + 1]
                if kflag and value & 0x80000000:
                    value -= _U32
                step = 2
            try:
                values.append(Enumerator(string_at(e_name_off) if e_name_off else "", value))
            except LookupError as e:
                raise btf.error(tid, at, f"enumerator name offset {e_name_off} {e.args[0]}") from None
            at += step
        return Type(kind, name, size=sot, enumerators=tuple(values), signed=kflag, kind_flag=kflag)
    if k == _INT:
        data = words[w + 3]
        bits, offset, enc = data & 0xFF, (data >> 16) & 0xFF, (data >> 24) & 0xF
        if sot not in _INT_SIZES:
            raise btf.error(tid, w + 2, f"INT '{name}' has unsupported size {sot}")
        # GCC marks plain char SIGNED|CHAR, so any mix of the three encoding bits is accepted.
        if data & 0xF800FF00:
            raise btf.error(tid, w + 3, f"INT '{name}' has invalid encoding word 0x{data:08x}")
        if bits == 0 or bits + offset > 8 * sot:
            raise btf.error(tid, w + 3, f"INT '{name}' has {bits} bits at bit offset {offset} in a {sot}-byte int")
        return Type(kind, name, size=sot, encoding=IntEncoding(enc), int_bits=bits, int_offset=offset)
    if k == _VAR:
        return Type(kind, name, ref=sot, linkage=words[w + 3])
    if k == _DECL_TAG:
        idx = words[w + 3]
        idx = idx - _U32 if idx & 0x80000000 else idx
        if idx < -1:
            raise btf.error(tid, w + 3, f"DECL_TAG component_idx {idx} (must be -1 or a member/parameter index)")
        return Type(kind, name, ref=sot, component_idx=idx, kind_flag=kflag)
    if k == _DATASEC:
        secvars = []
        at = w + 3
        for _ in range(vlen):
            v_type = words[at]
            if v_type >= limit or v_type == 0:
                raise btf.error(
                    tid, at, f"DATASEC variable type id {v_type} is {'void' if not v_type else 'out of range'}"
                )
            secvars.append(SecVar(v_type, words[at + 1], words[at + 2]))
            at += 3
        return Type(kind, name, size=sot, vars=tuple(secvars))
    if k == _FLOAT:
        if sot not in _FLOAT_SIZES:
            raise btf.error(tid, w + 2, f"FLOAT '{name}' has unsupported size {sot}")
        return Type(kind, name, size=sot)
    # FWD: kind_flag says union; the size word carries nothing.
    return Type(kind, name, kind_flag=kflag)


def edges(t: Type) -> list[int]:
    """Every type id a record refers to (void excluded), in record order."""
    k = t.kind
    if k in (_STRUCT, _UNION):
        return [m.type for m in t.members]
    if k == _FUNC_PROTO:
        out = [p.type for p in t.params if p.type]
        if t.ref:
            out.insert(0, t.ref)
        return out
    if k == _ARRAY:
        return [t.ref, t.index_type] if t.index_type else [t.ref]
    if k == _DATASEC:
        return [v.type for v in t.vars]
    if t.ref and k in _REF_KINDS:
        return [t.ref]
    return []
