"""libclang access: the compiler arguments, our builtin headers, and the C API calls cindex lacks."""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from clang import cindex

from ...model import Target
from ...model.graph import LIBC_LOCATION
from ..libc import LibcHeaders

# Freestanding headers (stddef.h, stdint.h, ...) written from the compiler's predefined macros:
# the libclang wheel ships none, and they must be right for every -target.
BUILTIN_INCLUDE = Path(__file__).resolve().parents[2] / "data" / "include"
BUILTIN_PREFIX = "<builtin>"
LIBC_PREFIX = LIBC_LOCATION.rstrip("/")  # how locations name the files of the libc headers

# CXEvalResultKind
EVAL_INT = 1
# CXTranslationUnit_KeepGoing: fatal errors (a missing #include) count as plain errors, so clang
# keeps reporting the errors after them; without it one missing header hides every later problem.
PARSE_KEEP_GOING = 0x200
PARSE_SKIP_FUNCTION_BODIES = 0x40  # inline functions in headers are not ABI, and cost time
PARSE_OPTIONS = PARSE_KEEP_GOING | PARSE_SKIP_FUNCTION_BODIES

# Functions of libclang 18 the Python bindings do not declare: (name, argtypes, restype).
_EXTRA_FUNCTIONS: tuple[tuple[str, list[object], object], ...] = (
    ("clang_Cursor_Evaluate", [cindex.Cursor], ctypes.c_void_p),
    ("clang_EvalResult_getKind", [ctypes.c_void_p], ctypes.c_int),
    ("clang_EvalResult_isUnsignedInt", [ctypes.c_void_p], ctypes.c_uint),
    ("clang_EvalResult_getAsUnsigned", [ctypes.c_void_p], ctypes.c_ulonglong),
    ("clang_EvalResult_getAsLongLong", [ctypes.c_void_p], ctypes.c_longlong),
    ("clang_EvalResult_dispose", [ctypes.c_void_p], None),
    ("clang_Cursor_isAnonymousRecordDecl", [cindex.Cursor], ctypes.c_uint),
    ("clang_isInvalidDeclaration", [cindex.Cursor], ctypes.c_uint),
    ("clang_getUnqualifiedType", [cindex.Type], cindex.Type),
    ("clang_Type_getModifiedType", [cindex.Type], cindex.Type),
    ("clang_Type_getValueType", [cindex.Type], cindex.Type),
    ("clang_getInstantiationLocation", [cindex.SourceLocation, ctypes.POINTER(ctypes.c_void_p),
                                        ctypes.POINTER(ctypes.c_uint), ctypes.POINTER(ctypes.c_uint),
                                        ctypes.POINTER(ctypes.c_uint)], None),
    ("clang_getEnumConstantDeclValue", [cindex.Cursor], ctypes.c_longlong),
    ("clang_getEnumConstantDeclUnsignedValue", [cindex.Cursor], ctypes.c_ulonglong),
    ("clang_getFileName", [ctypes.c_void_p], cindex._CXString),
    ("clang_getCString", [cindex._CXString], ctypes.c_char_p),
    ("clang_getCursorSpelling", [cindex.Cursor], cindex._CXString),
    # Without the bindings' result wrappers (a null-cursor test and TU bookkeeping per call): the
    # type builder makes hundreds of thousands of these calls per arch.
    ("clang_getCursorType", [cindex.Cursor], cindex.Type),
    ("clang_getTypeDeclaration", [cindex.Type], cindex.Cursor),
    ("clang_getCanonicalCursor", [cindex.Cursor], cindex.Cursor),
    ("clang_getCursorDefinition", [cindex.Cursor], cindex.Cursor),
    ("clang_Cursor_isNull", [cindex.Cursor], ctypes.c_int),
    ("clang_getTypedefDeclUnderlyingType", [cindex.Cursor], cindex.Type),
    ("clang_getEnumDeclIntegerType", [cindex.Cursor], cindex.Type),
    ("clang_Type_getSizeOf", [cindex.Type], ctypes.c_longlong),
    ("clang_Type_getAlignOf", [cindex.Type], ctypes.c_longlong),
    ("clang_isConstQualifiedType", [cindex.Type], ctypes.c_uint),
    ("clang_isVolatileQualifiedType", [cindex.Type], ctypes.c_uint),
    ("clang_isRestrictQualifiedType", [cindex.Type], ctypes.c_uint),
    ("clang_Type_getNamedType", [cindex.Type], cindex.Type),
    ("clang_getPointeeType", [cindex.Type], cindex.Type),
    ("clang_getElementType", [cindex.Type], cindex.Type),
    ("clang_getNumElements", [cindex.Type], ctypes.c_longlong),
    ("clang_getResultType", [cindex.Type], cindex.Type),
    ("clang_getNumArgTypes", [cindex.Type], ctypes.c_int),
    ("clang_isFunctionTypeVariadic", [cindex.Type], ctypes.c_uint),
    ("clang_getCanonicalType", [cindex.Type], cindex.Type),
    ("clang_getTypeSpelling", [cindex.Type], cindex._CXString),
    ("clang_Cursor_isBitField", [cindex.Cursor], ctypes.c_uint),
    ("clang_getFieldDeclBitWidth", [cindex.Cursor], ctypes.c_int),
    ("clang_Cursor_getOffsetOfField", [cindex.Cursor], ctypes.c_longlong),
    ("clang_Cursor_getNumArguments", [cindex.Cursor], ctypes.c_int),
    ("clang_getCursorLinkage", [cindex.Cursor], ctypes.c_int),
    ("clang_isCursorDefinition", [cindex.Cursor], ctypes.c_uint),
    ("clang_getArgType", [cindex.Type, ctypes.c_uint], cindex.Type),
    ("clang_Cursor_getArgument", [cindex.Cursor, ctypes.c_uint], cindex.Cursor),
    ("clang_Type_visitFields", [cindex.Type, cindex.callbacks["fields_visit"], ctypes.py_object], ctypes.c_uint),
)


@functools.cache
def clang_lib() -> ctypes.CDLL:
    """libclang with the extra functions declared, on our own handle so the bindings' stay untouched."""
    lib = ctypes.CDLL(cindex.conf.lib._name)
    for name, argtypes, restype in _EXTRA_FUNCTIONS:
        fn = getattr(lib, name)
        fn.argtypes = argtypes
        fn.restype = restype
    return lib


def new_index() -> cindex.Index:
    """A fresh libclang index; each process (and each parse) makes its own, nothing is shared."""
    clang_lib()
    return cindex.Index.create()


def compiler_args(target: Target, include_dirs: Sequence[Path], defines: Sequence[str],
                  libc: LibcHeaders | None = None) -> list[str]:
    """Front-end arguments: C (gnu11) for `target`, our builtin headers as system headers, and the
    libc's headers, if any, searched last (after the sources' own and our freestanding ones)."""
    args = [
        "-x", "c",
        "-std=gnu11",
        "-target", target.triple,
        "-nostdinc",
        "-isystem", str(BUILTIN_INCLUDE),
        "-ferror-limit=0",
        "-fno-spell-checking",
        "-w",
    ]
    for d in include_dirs:
        args += ["-I", str(d)]
    if libc is not None:
        for d in libc.dirs:
            args += ["-idirafter", str(d)]
        args += [f"-D{d}" for d in libc.defines]
    for d in defines:
        args.append(f"-D{d}")
    return args


def unqualified(t: cindex.Type) -> cindex.Type:
    """`t` without const/volatile/restrict."""
    res = clang_lib().clang_getUnqualifiedType(t)
    res._tu = getattr(t, "_tu", None)
    return res


def modified_type(t: cindex.Type) -> cindex.Type:
    """The type an attribute (e.g. nullability, btf_type_tag) applies to."""
    res = clang_lib().clang_Type_getModifiedType(t)
    res._tu = getattr(t, "_tu", None)
    return res


def atomic_value_type(t: cindex.Type) -> cindex.Type:
    """The type inside `_Atomic(T)`."""
    res = clang_lib().clang_Type_getValueType(t)
    res._tu = getattr(t, "_tu", None)
    return res


def is_anonymous_member(decl: cindex.Cursor) -> bool:
    """True for the record of a C11 anonymous struct/union member (not for a named member of unnamed type)."""
    return bool(clang_lib().clang_Cursor_isAnonymousRecordDecl(decl))


def is_invalid(decl: cindex.Cursor) -> bool:
    """True when clang marked the declaration invalid (it had errors); its layout cannot be trusted."""
    return bool(clang_lib().clang_isInvalidDeclaration(decl))


def evaluate_int(cursor: cindex.Cursor) -> int | None:
    """The integer value of a declaration's initializer as the front end folds it, else None."""
    lib = clang_lib()
    res = lib.clang_Cursor_Evaluate(cursor)
    if not res:
        return None
    try:
        if lib.clang_EvalResult_getKind(res) != EVAL_INT:
            return None
        if lib.clang_EvalResult_isUnsignedInt(res):
            return int(lib.clang_EvalResult_getAsUnsigned(res))
        return int(lib.clang_EvalResult_getAsLongLong(res))
    finally:
        lib.clang_EvalResult_dispose(res)


_ENUM_CONSTANT = frozenset({cindex.CursorKind.ENUM_CONSTANT_DECL.value})
_EXPRESSIONS = (100, 199)  # CXCursor_FirstExpr..; statements start at 200, attributes at 400


def enum_constants(decl: cindex.Cursor, signed: bool) -> list[tuple[str, int, bool]]:
    """(name, value, explicit) of an enum definition's constants, in order; `signed` is the enum's
    integer type's. Explicit: the constant has an initializer (`= 22`), an expression child."""
    lib = clang_lib()
    value_of = lib.clang_getEnumConstantDeclValue if signed else lib.clang_getEnumConstantDeclUnsignedValue
    found: list[tuple[cindex.Cursor, list[bool]]] = []

    def visit(cursor: cindex.Cursor, parent: cindex.Cursor, _data: object) -> int:
        if cursor._kind_id in _ENUM_CONSTANT:
            found.append((cursor, [False]))
            return 2  # CXChildVisit_Recurse: into the constant, to see whether it has an initializer
        if parent._kind_id in _ENUM_CONSTANT and found and _EXPRESSIONS[0] <= cursor._kind_id <= _EXPRESSIONS[1]:
            found[-1][1][0] = True
        return 1  # CXChildVisit_Continue: nothing deeper matters

    cindex.conf.lib.clang_visitChildren(decl, cindex.callbacks["cursor_visit"](visit), None)
    return [(spelling(c), int(value_of(c)), explicit[0]) for c, explicit in found]


class FileNames:
    """Resolves source locations to (file name, line, offset) with one libclang call, names cached."""

    def __init__(self) -> None:
        self._names: dict[int, str] = {}
        self._lib = clang_lib()
        # One set of out-parameters for every call: a reader resolves ~100k locations per arch.
        self._file, self._off = ctypes.c_void_p(), ctypes.c_uint()
        self._line, self._col = ctypes.c_uint(), ctypes.c_uint()
        self._out = (ctypes.byref(self._file), ctypes.byref(self._line), ctypes.byref(self._col),
                     ctypes.byref(self._off))

    def resolve(self, loc: cindex.SourceLocation) -> tuple[str | None, int, int]:
        self._lib.clang_getInstantiationLocation(loc, *self._out)
        addr = self._file.value
        if not addr:
            return None, self._line.value, self._off.value
        name = self._names.get(addr)
        if name is None:
            lib = self._lib
            cx = lib.clang_getFileName(addr)
            raw = lib.clang_getCString(cx)
            name = raw.decode() if raw else ""  # the _CXString frees itself when collected
            self._names[addr] = name
        return name, self._line.value, self._off.value

    def cursor_start(self, cursor: cindex.Cursor) -> tuple[str | None, int, int]:
        return self.resolve(cindex.conf.lib.clang_getCursorLocation(cursor))


def children(parent: cindex.Cursor, kinds: frozenset[int]) -> list[cindex.Cursor]:
    """`parent`'s direct children of the given raw kinds, in order.

    A leaner visitor than Cursor.get_children(): a big TU has tens of thousands of macro
    cursors, and the bindings' per-cursor bookkeeping dominated the reader's time.
    """
    return _visit(parent, kinds, _CONTINUE)


def descendants(parent: cindex.Cursor, kinds: frozenset[int]) -> list[cindex.Cursor]:
    """Every cursor below `parent` (not itself) of the given raw kinds, in preorder (as
    Cursor.walk_preorder yields them), with one libclang walk: the bindings' own walk builds a
    Python generator and several objects per node, and an ioctl number's expansion has hundreds."""
    return _visit(parent, kinds, _RECURSE)


_CONTINUE, _RECURSE = 1, 2  # CXChildVisit_Continue (siblings only), CXChildVisit_Recurse


def _visit(parent: cindex.Cursor, kinds: frozenset[int], then: int) -> list[cindex.Cursor]:
    out: list[cindex.Cursor] = []
    append = out.append
    tu = getattr(parent, "_tu", None)

    def visit(cursor: cindex.Cursor, _parent: cindex.Cursor, _data: object) -> int:
        if cursor._kind_id in kinds:
            cursor._tu = tu
            append(cursor)
        return then

    cindex.conf.lib.clang_visitChildren(parent, cindex.callbacks["cursor_visit"](visit), None)
    return out


def spelling(cursor: cindex.Cursor) -> str:
    """A cursor's spelling with two libclang calls (the bindings' property takes several layers)."""
    lib = clang_lib()
    raw = lib.clang_getCString(lib.clang_getCursorSpelling(cursor))
    return raw.decode() if raw else ""


@dataclass(frozen=True, slots=True)
class Located:
    """A diagnostic with its severity and where it is (file as clang names it, line)."""

    severity: int
    file: str | None
    line: int
    diagnostic: cindex.Diagnostic


def located_diagnostics(tu: cindex.TranslationUnit, names: FileNames) -> list[Located]:
    """Every diagnostic of `tu` with its place, each asked of libclang once: the generated lines of a
    header parse can fail by the thousand, and several readers look at all of them."""
    lib = cindex.conf.lib
    out = []
    for d in tu.diagnostics:
        file, line, _ = names.resolve(lib.clang_getDiagnosticLocation(d))
        out.append(Located(lib.clang_getDiagnosticSeverity(d), file, line, d))
    return out
