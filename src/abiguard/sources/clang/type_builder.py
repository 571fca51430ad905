"""Turn libclang declarations and types of one translation unit into BTF-like `Type` records."""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable

from clang.cindex import Cursor, CursorKind, TypeKind
from clang.cindex import Type as CType
from clang.cindex import callbacks as cindex_callbacks

from ...model.types import Enumerator, IntEncoding, Kind, Member, Param, Type
from .libclang import (
    atomic_value_type,
    clang_lib,
    enum_constants,
    is_anonymous_member,
    is_invalid,
    modified_type,
    spelling,
    unqualified,
)

_IDENT = re.compile(r"[A-Za-z_]\w*")

# Type kinds are compared as raw CXTypeKind numbers: the bindings raise on kinds they do not list
# (e.g. CXType_Attributed, CXType_Float16), which libclang 18 does produce.
def _ids(*kinds: TypeKind) -> frozenset[int]:
    return frozenset(k.value for k in kinds)


_K_FLOAT16 = 32
_K_BFLOAT16 = 39
_K_ATTRIBUTED = 163
_K_BTF_TAG_ATTRIBUTED = 178
_SIGNED_INTS = _ids(
    TypeKind.CHAR_S, TypeKind.SCHAR, TypeKind.SHORT, TypeKind.INT, TypeKind.LONG,
    TypeKind.LONGLONG, TypeKind.INT128, TypeKind.WCHAR,
)
_UNSIGNED_INTS = _ids(
    TypeKind.CHAR_U, TypeKind.UCHAR, TypeKind.USHORT, TypeKind.UINT, TypeKind.ULONG,
    TypeKind.ULONGLONG, TypeKind.UINT128, TypeKind.CHAR16, TypeKind.CHAR32,
)
_INTS = _SIGNED_INTS | _UNSIGNED_INTS | _ids(TypeKind.BOOL)
_CHARS = _ids(TypeKind.CHAR_S, TypeKind.CHAR_U, TypeKind.SCHAR, TypeKind.UCHAR)
_FLOATS = _ids(
    TypeKind.FLOAT, TypeKind.DOUBLE, TypeKind.LONGDOUBLE, TypeKind.FLOAT128, TypeKind.HALF,
    TypeKind.IBM128, TypeKind.COMPLEX,
) | {_K_FLOAT16, _K_BFLOAT16}
_SIZED_ARRAYS = _ids(TypeKind.CONSTANTARRAY, TypeKind.VECTOR, TypeKind.EXTVECTOR)
_ARRAYS = _SIZED_ARRAYS | _ids(TypeKind.INCOMPLETEARRAY, TypeKind.VARIABLEARRAY, TypeKind.DEPENDENTSIZEDARRAY)
_K_ELABORATED = TypeKind.ELABORATED.value
_K_VOID = TypeKind.VOID.value
_K_TYPEDEF = TypeKind.TYPEDEF.value
_K_RECORD = TypeKind.RECORD.value
_K_ENUM = TypeKind.ENUM.value
_K_POINTER = TypeKind.POINTER.value
_K_PROTO = TypeKind.FUNCTIONPROTO.value
_K_NOPROTO = TypeKind.FUNCTIONNOPROTO.value
_K_ATOMIC = TypeKind.ATOMIC.value
_K_BOOL = TypeKind.BOOL.value
_STRUCT_DECL = CursorKind.STRUCT_DECL.value
_UNION_DECL = CursorKind.UNION_DECL.value
_ENUM_DECL = CursorKind.ENUM_DECL.value
_TYPEDEF_DECL = CursorKind.TYPEDEF_DECL.value
_FUNCTION_DECL = CursorKind.FUNCTION_DECL.value
_TAG_KEYWORD = {_STRUCT_DECL: "struct", _UNION_DECL: "union", _ENUM_DECL: "enum"}
_LINKAGE_INTERNAL = 2  # CXLinkage_Internal


def _text(cx: object) -> str:
    raw = clang_lib().clang_getCString(cx)
    return raw.decode() if raw else ""  # the _CXString frees itself when collected


def tag_name(decl: Cursor) -> str:
    """The tag of a struct/union/enum, "" when it has none.

    libclang spells unnamed tags as "(unnamed at f.h:3:1)" or after the typedef that names them;
    only a real tag prints as `struct tag`.
    """
    name = spelling(decl)
    if not name or not _IDENT.fullmatch(name):
        return ""
    lib = clang_lib()
    keyword = _TAG_KEYWORD.get(decl._kind_id)
    return name if _text(lib.clang_getTypeSpelling(lib.clang_getCursorType(decl))) == f"{keyword} {name}" else ""


class TypeBuilder:
    """Collects the types of one TU, numbered from 1 in the order they are first reached (0 is void).

    Records get their id before their members are read, so self-referencing structs terminate;
    member lists are filled from a work list instead of recursion, keeping the stack shallow.
    libclang is called directly (clang_lib), not through the bindings' wrapper objects.
    """

    def __init__(self, locate: Callable[[Cursor], str]) -> None:
        self.types: list[Type] = [Type(Kind.VOID)]
        self._locate = locate
        self._lib = clang_lib()
        self._memo: dict[Hashable, int] = {}
        self._by_ptr: dict[int | None, int] = {}
        self._pending: list[tuple[int, Cursor]] = []

    # --- entry points -------------------------------------------------------------------
    def add_declaration(self, cursor: Cursor) -> None:
        """Record the type a top-level declaration introduces (invalid typedefs and functions are skipped)."""
        kind = cursor._kind_id
        if kind in _TAG_KEYWORD:
            # A struct whose definition had errors becomes a forward.
            self.type_id(self._lib.clang_getCursorType(cursor))
        elif kind == _TYPEDEF_DECL:
            if not is_invalid(cursor):
                self.type_id(self._lib.clang_getCursorType(cursor))
        elif kind == _FUNCTION_DECL and not is_invalid(cursor):
            self._function(cursor)
        self.finish()

    def finish(self) -> list[Type]:
        """Fill the members of every record reached so far; returns the type list."""
        while self._pending:
            tid, decl = self._pending.pop()
            self._fill_record(tid, decl)
        return self.types

    # --- types ----------------------------------------------------------------------------
    def _add(self, key: Hashable, t: Type) -> int:
        tid = len(self.types)
        self.types.append(t)
        self._memo[key] = tid
        return tid

    def _intern(self, key: Hashable, make: Callable[[], Type]) -> int:
        tid = self._memo.get(key)
        if tid is None:
            tid = self._add(key, make())
        return tid

    def _decl_key(self, decl: Cursor) -> int | None:
        """The canonical declaration's address: the same for every redeclaration of one entity."""
        return self._lib.clang_getCanonicalCursor(decl).data[0]

    def type_id(self, t: CType) -> int:
        """The id of a clang type, creating records for it (and what it references) on first sight."""
        # A CXType's first data word is clang's QualType (type pointer + qualifier bits), unique
        # per type in the TU: a cheap memo key that skips every libclang call for repeats.
        ptr = t.data[0]
        tid = self._by_ptr.get(ptr)
        if tid is None:
            tid = self._convert(t)
            self._by_ptr[ptr] = tid
        return tid

    def _convert(self, t: CType) -> int:
        lib = self._lib
        kind = t._kind_id
        if kind not in _ARRAYS:
            # Array qualifiers live on the element type; everything else wraps its unqualified self.
            const = lib.clang_isConstQualifiedType(t)
            volatile = lib.clang_isVolatileQualifiedType(t)
            restrict = lib.clang_isRestrictQualifiedType(t)
            if const or volatile or restrict:
                tid = self.type_id(unqualified(t))
                for flag, mod in ((restrict, Kind.RESTRICT), (volatile, Kind.VOLATILE), (const, Kind.CONST)):
                    if flag:
                        inner = tid
                        tid = self._intern((mod, inner), lambda m=mod, r=inner: Type(m, ref=r))
                return tid
        if kind == _K_ELABORATED:
            return self.type_id(lib.clang_Type_getNamedType(t))
        if kind == _K_VOID:
            return 0
        if kind == _K_TYPEDEF:
            return self._typedef(t)
        if kind == _K_RECORD:
            return self._record(t)
        if kind == _K_ENUM:
            return self._enum(t)
        if kind == _K_POINTER:
            ref = self.type_id(lib.clang_getPointeeType(t))
            return self._intern((Kind.PTR, ref), lambda: Type(Kind.PTR, ref=ref, align=lib.clang_Type_getAlignOf(t)))
        if kind in _ARRAYS:
            return self._array(t)
        if kind in (_K_PROTO, _K_NOPROTO):
            return self._proto(t, None)
        if kind in (_K_ATTRIBUTED, _K_BTF_TAG_ATTRIBUTED):
            inner = modified_type(t)
            return self.type_id(inner if inner._kind_id else lib.clang_getCanonicalType(t))
        if kind == _K_ATOMIC:
            return self.type_id(atomic_value_type(t))
        if kind in _INTS:
            return self._int(t)
        if kind in _FLOATS:
            name = _text(lib.clang_getTypeSpelling(t))
            return self._intern((Kind.FLOAT, name), lambda: Type(Kind.FLOAT, name, lib.clang_Type_getSizeOf(t),
                                                                 align=lib.clang_Type_getAlignOf(t)))
        canonical = lib.clang_getCanonicalType(t)
        if canonical._kind_id != kind:
            return self.type_id(canonical)
        # A type C headers do not normally hold (e.g. a C++ or OpenCL one): keep its name and size.
        name = _text(lib.clang_getTypeSpelling(t))
        return self._intern(("opaque", name), lambda: Type(Kind.INT, name, max(lib.clang_Type_getSizeOf(t), 0),
                                                           align=lib.clang_Type_getAlignOf(t)))

    def _int(self, t: CType) -> int:
        kind = t._kind_id
        tid = self._memo.get((Kind.INT, kind))
        if tid is not None:
            return tid
        lib = self._lib
        name = _text(lib.clang_getTypeSpelling(t))
        encoding = IntEncoding.NONE
        if kind == _K_BOOL:
            encoding = IntEncoding.BOOL
        elif kind in _SIGNED_INTS:
            encoding = IntEncoding.SIGNED
        if kind in _CHARS:
            encoding |= IntEncoding.CHAR
        size = lib.clang_Type_getSizeOf(t)
        return self._add((Kind.INT, kind), Type(Kind.INT, name, size, encoding=encoding, int_bits=8 * size,
                                                 align=lib.clang_Type_getAlignOf(t)))

    def _typedef(self, t: CType) -> int:
        lib = self._lib
        decl = lib.clang_getTypeDeclaration(t)
        key = ("typedef", self._decl_key(decl))
        tid = self._memo.get(key)
        if tid is not None:
            return tid
        name, align, location = spelling(decl), lib.clang_Type_getAlignOf(t), self._locate(decl)
        tid = self._add(key, Type(Kind.TYPEDEF, name, align=align, location=location))
        # The id exists before its target is read, so a typedef reached again on the way terminates.
        # Built again rather than dataclasses.replace()d: that one introspects every field, per type.
        ref = self.type_id(lib.clang_getTypedefDeclUnderlyingType(decl))
        self.types[tid] = Type(Kind.TYPEDEF, name, ref=ref, align=align, location=location)
        return tid

    def _definition(self, decl: Cursor) -> Cursor | None:
        found = self._lib.clang_getCursorDefinition(decl)
        return None if self._lib.clang_Cursor_isNull(found) else found

    def _record(self, t: CType) -> int:
        lib = self._lib
        decl = lib.clang_getTypeDeclaration(t)
        key = ("record", self._decl_key(decl))
        tid = self._memo.get(key)
        if tid is not None:
            return tid
        union = decl._kind_id == _UNION_DECL
        definition = self._definition(decl)
        size = lib.clang_Type_getSizeOf(t)
        if definition is None or is_invalid(definition) or size < 0:
            # Incomplete here, or its definition had errors (a diagnostic says so): a forward.
            return self._add(key, Type(Kind.FWD, tag_name(decl), kind_flag=union, location=self._locate(decl)))
        kind = Kind.UNION if union else Kind.STRUCT
        record = Type(kind, tag_name(definition), size, align=lib.clang_Type_getAlignOf(t),
                      location=self._locate(definition))
        tid = self._add(key, record)
        self._pending.append((tid, definition))
        return tid

    def _fields(self, decl: Cursor) -> list[Cursor]:
        fields: list[Cursor] = []

        def visit(field: Cursor, _data: object) -> int:
            fields.append(field)
            return 1  # CXVisit_Continue

        lib = self._lib
        lib.clang_Type_visitFields(lib.clang_getCursorType(decl), cindex_callbacks["fields_visit"](visit), fields)
        return fields

    def _fill_record(self, tid: int, decl: Cursor) -> None:
        lib = self._lib
        members: list[Member] = []
        for field in self._fields(decl):
            bitfield = lib.clang_Cursor_isBitField(field)
            field_type = lib.clang_getCursorType(field)
            name = spelling(field)
            if bitfield and not name:
                continue  # unnamed bitfields are padding, as in BTF
            if field_type._kind_id in (_K_RECORD, _K_ELABORATED):
                field_decl = lib.clang_getTypeDeclaration(field_type)
                if field_decl._kind_id in (_STRUCT_DECL, _UNION_DECL) and is_anonymous_member(field_decl):
                    name = ""
            width = lib.clang_getFieldDeclBitWidth(field) if bitfield else 0
            members.append(Member(name, self.type_id(field_type), lib.clang_Cursor_getOffsetOfField(field), width))
        record = self.types[tid]  # as _record made it: kind, name, size, align and location
        self.types[tid] = Type(record.kind, record.name, record.size, members=tuple(members),
                               kind_flag=any(m.bit_size for m in members), align=record.align,
                               location=record.location)

    def _enum(self, t: CType) -> int:
        lib = self._lib
        decl = lib.clang_getTypeDeclaration(t)
        key = ("enum", self._decl_key(decl))
        tid = self._memo.get(key)
        if tid is not None:
            return tid
        definition = self._definition(decl) or decl
        int_type = lib.clang_getEnumDeclIntegerType(definition)
        size = lib.clang_Type_getSizeOf(int_type)
        if size <= 0:
            size = 4
        signed = lib.clang_getCanonicalType(int_type)._kind_id in _SIGNED_INTS
        values = tuple(Enumerator(*constant) for constant in enum_constants(definition, signed))
        kind = Kind.ENUM64 if size == 8 else Kind.ENUM
        align = lib.clang_Type_getAlignOf(t)
        return self._add(
            key,
            Type(kind, tag_name(definition), size, enumerators=values, signed=signed,
                 align=align if align > 0 else 0, location=self._locate(definition)),
        )

    def _array(self, t: CType) -> int:
        lib = self._lib
        elem = self.type_id(lib.clang_getElementType(t))
        count = lib.clang_getNumElements(t) if t._kind_id in _SIZED_ARRAYS else 0
        align = max(lib.clang_Type_getAlignOf(t), 0)
        return self._intern(
            (Kind.ARRAY, elem, count, align), lambda: Type(Kind.ARRAY, ref=elem, nelems=count, align=align)
        )

    def _proto(self, t: CType, names: list[str] | None) -> int:
        lib = self._lib
        ret = self.type_id(lib.clang_getResultType(t))
        if t._kind_id == _K_PROTO:
            args = [self.type_id(lib.clang_getArgType(t, i)) for i in range(lib.clang_getNumArgTypes(t))]
            variadic = bool(lib.clang_isFunctionTypeVariadic(t))
        else:
            args, variadic = [], False
        labels = names if names is not None and len(names) == len(args) else [""] * len(args)
        params = tuple(Param(n, a) for n, a in zip(labels, args, strict=True))
        if variadic:
            params += (Param("", 0),)
        return self._intern((Kind.FUNC_PROTO, ret, params), lambda: Type(Kind.FUNC_PROTO, ref=ret, params=params))

    def _function(self, cursor: Cursor) -> int:
        lib = self._lib
        key = ("func", self._decl_key(cursor))
        tid = self._memo.get(key)
        if tid is not None:
            return tid
        count = lib.clang_Cursor_getNumArguments(cursor)
        names = [spelling(lib.clang_Cursor_getArgument(cursor, i)) for i in range(count)]
        proto = self._proto(lib.clang_getCursorType(cursor), names)
        # BTF linkage: 0 static, 1 global definition, 2 extern declaration.
        linkage = (0 if lib.clang_getCursorLinkage(cursor) == _LINKAGE_INTERNAL
                   else 1 if lib.clang_isCursorDefinition(cursor) else 2)
        return self._add(key, Type(Kind.FUNC, spelling(cursor), ref=proto, linkage=linkage,
                                   location=self._locate(cursor)))
