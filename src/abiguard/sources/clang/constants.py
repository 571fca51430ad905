"""Integer values of object-like `#define`s, as the compiler front end evaluates them for one target."""

from __future__ import annotations

import bisect
import functools
import os
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field

from clang.cindex import Cursor, CursorKind, Diagnostic, Index

from ...model.types import Constant
from .libclang import PARSE_OPTIONS, FileNames, Located, children, descendants, evaluate_int, located_diagnostics

_PREFIX = "__abg_c_"
VAR_DECL = frozenset({CursorKind.VAR_DECL.value})
# Characters that could end the generated declaration early and derail the parse of the ones after
# it; a double quote means a string literal, never an integer.
_UNSAFE = re.compile(rb'[;{}#"]')


@dataclass(frozen=True, slots=True)
class MacroCandidate:
    """An object-like macro whose body might be an integer constant expression."""

    name: str
    location: str
    shape: BodyShape | None = None  # of the #define in effect


_NAME = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")
# Comments are not part of a macro body; one may start on the #define line and end lines later.
_COMMENT = re.compile(rb"/\*.*?(?:\*/|\Z)|//[^\n]*", re.S)
_CONTINUED_LINE = re.compile(rb"(?:[^\n]*\\\r?\n)*[^\n]*")


def object_like_macro(text: bytes, start: int) -> tuple[str, bytes] | None:
    """(name, body) of the #define whose name starts at byte `start`; None if it is function-like.

    Read from the file text: cheaper than asking libclang for tokens, and C11 6.10.3p3 makes a
    macro function-like exactly when `(` follows its name with no space between.
    """
    m = _NAME.match(text, start)
    if m is None:
        return None
    end = m.end()
    if text[end:end + 1] == b"(":
        return None
    body = _CONTINUED_LINE.match(text, end)
    return m[0].decode(), _COMMENT.sub(b" ", body[0] if body else b"")


_DEFINE = re.compile(rb"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_][A-Za-z0-9_]*)", re.M)
_INCLUDE = re.compile(rb'^[ \t]*#[ \t]*include[ \t]*[<"]([^>"]+)[>"]', re.M)


# A plain integer literal, maybe in parentheses: its value is the same for every target, and the
# literal itself says it (C11 6.4.4.1); what the front end decides is whether its #define is active.
_LITERAL = re.compile(
    rb"\s*(?:\(\s*)*(0[xX][0-9a-fA-F]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)(?:[uU](?:ll|LL|l|L)?|(?:ll|LL|l|L)[uU]?)?"
    rb"\s*(?:\)\s*)*"
)


def literal_value(body: bytes) -> int | None:
    """The value of a macro body that is one integer literal (`0x10`, `(8UL)`), else None."""
    m = _LITERAL.fullmatch(body)
    if m is None or body.count(b"(") != body.count(b")"):
        return None
    digits = m.group(1).decode()
    if digits[:2] in ("0x", "0X", "0b", "0B"):
        value = int(digits, 0)
    else:
        value = int(digits, 8 if digits.startswith("0") else 10)
    return value if value < 1 << 64 else None  # wider than any C integer type: not a constant


# C tokens of a macro body (C11 6.4): pp-numbers (so `1ULL` names nothing), character constants,
# identifiers and the punctuators a body's shape is told by.
_TOKEN = re.compile(
    rb"\s*(?:(?P<num>\.?[0-9](?:[eEpP][+-]|[0-9A-Za-z_.])*)|(?P<id>[A-Za-z_][A-Za-z0-9_]*)"
    rb"|'(?:\\.|[^'\\\n])*'|(?P<punct>\|\||&&|<<|>>|\S))"
)
_KEYWORDS = frozenset(b"""sizeof _Alignof __alignof__ alignof struct union enum unsigned signed int long short char
    _Bool void const volatile float double typeof __typeof__ __extension__""".split())
_MEASURING = frozenset({b"sizeof", b"_Alignof", b"__alignof__", b"alignof"})


@dataclass(frozen=True, slots=True)
class BodyShape:
    """What a macro body's tokens say: the identifiers it names (keywords aside), whether it is
    names joined by `|` only, and whether its expansion may take a sizeof (a keyword or a call)."""

    refs: tuple[str, ...] = ()
    flag_union: bool = False
    measures: bool = False


def body_shape(body: bytes) -> BodyShape:
    """The shape of an object-like macro body, from its C tokens."""
    refs: list[str] = []
    operands: list[bytes] = []  # b"id" and b"|" in order, parentheses dropped
    plain_or = True
    measures = False
    previous_id = False
    tag_next = False  # the identifier after struct/union/enum is a tag, not something the body names
    body = re.sub(rb"\\\r?\n", b" ", body)
    pos, end = 0, len(body.rstrip())
    while pos < end:
        m = _TOKEN.match(body, pos)
        if m is None or m.end() == pos:
            break
        pos = m.end()
        ident, punct = m["id"], m["punct"]
        if ident is not None:
            if ident in _MEASURING:
                measures = True
            if ident not in _KEYWORDS and not tag_next:
                refs.append(ident.decode())
            tag_next = ident in (b"struct", b"union", b"enum")
            operands.append(b"id")
            previous_id = True
            continue
        tag_next = False
        if punct == b"(" and previous_id:
            measures = True  # a function-like macro's expansion may hold sizeof (_IOW(..., struct x))
        previous_id = False
        if punct in (b"(", b")"):
            continue
        if punct == b"|":
            operands.append(b"|")
        else:
            plain_or = False
    ors = operands[1::2]
    plain_or = (plain_or and len(operands) >= 3 and len(operands) % 2 == 1
                and all(o == b"|" for o in ors) and all(o == b"id" for o in operands[0::2]))
    return BodyShape(tuple(dict.fromkeys(refs)), plain_or, measures)


@dataclass(frozen=True, slots=True)
class DefineSite:
    """One `#define NAME ...` in a file: `plausible` if it is object-like and its body could be an
    integer constant expression (see macro_body_ok), `literal` its value when it is one integer
    literal, `risky` if its body could derail a declaration it is expanded in (see _derails),
    `shape` what its tokens say (see body_shape)."""

    name: str
    plausible: bool
    literal: int | None
    risky: bool = False
    shape: BodyShape = BodyShape()


@functools.lru_cache(maxsize=4096)
def define_sites(text: bytes) -> dict[int, DefineSite]:
    """Byte offset of every #define's name in `text` -> its site.

    Memoized on the content: the same headers are read by many TUs and arches in one process.
    """
    return {m.start(1): site_of(text, m.start(1)) for m in _DEFINE.finditer(text)}


def site_of(text: bytes, start: int) -> DefineSite:
    """The #define whose name starts at byte `start` of `text`."""
    macro = object_like_macro(text, start)
    if macro is None:
        name = _NAME.match(text, start)
        return DefineSite(name[0].decode() if name else "", False, None)  # function-like
    plausible = macro_body_ok(macro[1])
    if not plausible:
        return DefineSite(macro[0], False, None, _derails(macro[1]))
    return DefineSite(macro[0], True, literal_value(macro[1]), _derails(macro[1]), body_shape(macro[1]))


@functools.lru_cache(maxsize=4096)
def name_sites(text: bytes) -> dict[str, list[int]]:
    """Name -> the byte offsets of its #defines in `text`, in order."""
    out: dict[str, list[int]] = {}
    for offset, site in define_sites(text).items():
        out.setdefault(site.name, []).append(offset)
    return out


@functools.lru_cache(maxsize=4096)
def line_starts(text: bytes) -> list[int]:
    """Byte offset of the start of every line of `text` (for offset -> line number)."""
    return [0, *(m.end() for m in re.finditer(rb"\n", text))]


def line_of(text: bytes, offset: int) -> int:
    """The 1-based line of byte `offset` in `text`."""
    return bisect.bisect_right(line_starts(text), offset)


@functools.lru_cache(maxsize=4096)
def _includes(text: bytes) -> list[bytes]:
    return _INCLUDE.findall(text)


@functools.lru_cache(maxsize=4096)
def _file_names(text: bytes) -> tuple[tuple[str, ...], tuple[str, ...], frozenset[str], frozenset[str]]:
    """Names #defined in `text` with a body that could be an integer: (those that are no plain
    literal, those that are one), the names with a risky definition and those with one whose
    expansion may take a sizeof."""
    sites = define_sites(text).values()
    return (tuple(s.name for s in sites if s.plausible and s.literal is None),
            tuple(s.name for s in sites if s.plausible and s.literal is not None),
            frozenset(s.name for s in sites if s.risky),
            frozenset(s.name for s in sites if s.shape.measures))


@dataclass
class MacroScan:
    """The object-like macros the files of a TU #define, by their text (every #if branch counts).

    `compiled`: names whose value the compiler must work out (some definition is no plain literal);
    `literal`: names that are a plain literal wherever they are defined; `sites`: every #define of
    every name (function-like ones too), as (file path, byte offset of the name), in scan order.
    """

    compiled: list[str]
    literal: list[str]
    sites: dict[str, list[tuple[str, int]]]
    files: set[str] = field(default_factory=set)  # the files read, as normalized paths
    risky: set[str] = field(default_factory=set)  # names with a definition that could derail a parse
    measuring: set[str] = field(default_factory=set)  # names with a definition that may take a sizeof


def scan_macros(text: bytes, main_path: str, include_dirs: Iterable[str], read: Callable[[str], bytes | None],
                skip_dir: str | tuple[str, ...]) -> MacroScan:
    """The macros of `text` (the file at `main_path`) and of the files it includes (transitively),
    found by their #include lines and read with `read` (a file's bytes, None if absent); files
    under `skip_dir` (a prefix or several) are not read.

    An over-estimate of the macros a TU will end with, known before it is parsed: their values can
    be asked in the same parse.
    """
    dirs = list(include_dirs)
    compiled: dict[str, None] = {}
    literal: dict[str, None] = {}
    sites: dict[str, list[tuple[str, int]]] = {}

    risky: set[str] = set()
    measuring: set[str] = set()

    def add(data: bytes, path: str) -> None:
        names, literals, risky_here, measuring_here = _file_names(data)
        compiled.update(dict.fromkeys(names))
        literal.update(dict.fromkeys(literals))
        risky.update(risky_here)
        measuring.update(measuring_here)
        for name, offsets in name_sites(data).items():
            sites.setdefault(name, []).extend((path, offset) for offset in offsets)

    add(text, main_path)
    seen: set[str] = {main_path}
    todo: list[tuple[bytes, str]] = [(text, os.path.dirname(main_path))]
    while todo:
        data, here = todo.pop()
        for inc in _includes(data):
            rel = inc.decode(errors="replace")
            for base in (here, *dirs):
                path = os.path.normpath(os.path.join(base, rel))
                if path in seen:
                    break
                content = read(path)
                if content is not None:
                    seen.add(path)
                    if not path.startswith(skip_dir):
                        add(content, path)
                        todo.append((content, os.path.dirname(path)))
                    break
    return MacroScan(list(compiled), [name for name in literal if name not in compiled], sites, seen, risky,
                     measuring)


def macro_body_ok(body: bytes) -> bool:
    """True when an object-like macro body could be an integer constant expression.

    Empty bodies, strings and bodies that could end the generated declaration early (see
    _derails) are left out; the compiler decides about the rest.
    """
    return bool(body.strip()) and not _derails(body)


def _derails(body: bytes) -> bool:
    """True when a body could end a declaration it is expanded in early: `;`, braces, `#`, a
    string, or unbalanced parentheses."""
    if _UNSAFE.search(body):
        return True
    depth = 0
    for ch in body:
        if ch == 0x28:  # (
            depth += 1
        elif ch == 0x29:  # )
            depth -= 1
            if depth < 0:
                return True
    return depth != 0


@dataclass(frozen=True)
class Generated:
    """A TU's text with the generated lines after it (see generated())."""

    source: str
    first_line: int  # of the first value declaration; the sentinel is on the line before
    value_count: int
    checked: Sequence[str] = ()
    probes: Sequence[str] = ()

    @property
    def probe_first(self) -> int:
        """The line of the first probe."""
        return self.first_line + self.value_count


def generated(text: str, names: Sequence[str], checked: Sequence[str] = (), probes: Sequence[str] = ()) -> Generated:
    """The TU text with lines appended that make the front end tell about macros, in this order:

    - for each of `checked`, a marker declared only when the name is no macro at the end of the
      text (#undef'd, or only #defined in #if branches not taken);
    - a sentinel: found at file scope, it shows the TU's own text left the parser in order;
    - one declaration per name of `names`, initialised with it: its value, if it is a constant;
    - for each of `probes`, `enum { NAME };`, an error inside the macro's expansion whose
      "expanded from macro" note points at the #define in effect.
    """
    body = text if text.endswith("\n") else text + "\n"
    body += "".join(f"#ifndef {name}\nstatic const int {_PREFIX}u{i};\n#endif\n" for i, name in enumerate(checked))
    body += f"static const int {_PREFIX}sentinel = 0;\n"
    first_line = body.count("\n") + 1
    # File-scope initializers must be constant expressions, so anything else fails to compile;
    # __auto_type keeps the macro's own type (an unsigned 64-bit value stays unsigned).
    body += "".join(f"static const __auto_type {_PREFIX}{i} = ({name});\n" for i, name in enumerate(names))
    body += "".join(f"enum {{ {name} }};\n" for name in probes)
    return Generated(body, first_line, len(names), checked, probes)


_PASSES = 3  # parses of the generated declarations at most (each derailing macro may cost one)


def failures(diagnostics: Sequence[Located], filename: str, first_line: int) -> set[int]:
    """Positions of the generated lines that have errors."""
    return {d.line - first_line for d in diagnostics
            if d.severity >= Diagnostic.Error and d.line >= first_line and d.file == filename}


@dataclass
class Judged:
    """What the generated lines of one parse say: values by name, positions of `names` to parse
    again (swallowed by a macro that derailed the parser), and checked names that are no macros."""

    values: dict[str, int]
    swallowed: list[int]
    undefined: set[str]
    measures: dict[str, tuple[str, ...]] = field(default_factory=dict)


_UNARY_EXPR = frozenset({CursorKind.CXX_UNARY_EXPR.value})  # sizeof / _Alignof (UnaryExprOrTypeTraitExpr)
_TYPE_REF = frozenset({CursorKind.TYPE_REF.value})


def measured_types(decl: Cursor) -> tuple[str, ...]:
    """Types the initializer of `decl` takes sizeof/_Alignof of, as C spells them, in order:
    what the front end expanded, however deep the macros (`_IOW(..., struct x)`)."""
    out: dict[str, None] = {}
    for node in descendants(decl, _UNARY_EXPR):
        out.update((child.type.spelling, None) for child in children(node, _TYPE_REF))
    return tuple(out)


def judge(diagnostics: Sequence[Located], var_decls: Sequence[Cursor], filename: str, gen: Generated,
          names: Sequence[str], files: FileNames, measure: Collection[str] = frozenset()) -> Judged | None:
    """Read the generated declarations among the TU's top-level `var_decls`; None when the TU's own
    text did not end at file scope (an unclosed brace in a header). For the names in `measure`,
    the types their expansion takes sizeof of are read from the front end's expression tree.

    A declaration found at file scope on its own line started from a clean parser state, so its
    errors (or their absence) are its own. One that is not at file scope was swallowed by an
    earlier macro that derailed the parser (e.g. one expanding to `{`): it is tried again.
    """
    first_line = gen.first_line
    failed = failures(diagnostics, filename, first_line)
    values: dict[str, int] = {}
    measures: dict[str, tuple[str, ...]] = {}
    present: set[int] = set()
    undefined: set[str] = set()
    checks_first = first_line - 1 - 3 * len(gen.checked)  # each check: #ifndef, marker, #endif
    for cursor in var_decls:
        file, line, _ = files.cursor_start(cursor)
        if file != filename:
            continue
        # Value declarations sit one per line, in name order, after the sentinel.
        pos = line - first_line
        if pos < -1:
            check = line - checks_first - 1
            if 0 <= check < 3 * len(gen.checked) and check % 3 == 0:
                undefined.add(gen.checked[check // 3])
            continue
        if pos >= len(names):
            continue
        present.add(pos)
        if pos < 0 or pos in failed:
            continue  # the sentinel, or no constant
        value = evaluate_int(cursor)
        if value is not None:
            name = names[pos]
            values[name] = value
            if name in measure:
                measures[name] = measured_types(cursor)
    if -1 not in present:
        return None
    return Judged(values, [pos for pos in range(len(names)) if pos not in present], undefined, measures)


def probed(diagnostics: Sequence[Located], filename: str, gen: Generated,
           files: FileNames) -> dict[str, tuple[str, int]]:
    """Probe name -> (file, byte offset) inside the #define in effect at the end of the text; names
    that are no macro there (or expand to nothing) are absent."""
    found: dict[str, tuple[str, int]] = {}
    first, count = gen.probe_first, len(gen.probes)
    for d in diagnostics:
        pos = d.line - first
        if not 0 <= pos < count or d.file != filename:
            continue
        name = gen.probes[pos]
        if name in found:
            continue
        note = f"expanded from macro '{name}'"
        for child in d.diagnostic.children:
            if child.spelling == note:
                file, _, offset = files.resolve(child.location)
                if file is not None:
                    found[name] = (file, offset)
                break
    return found


def constant_of(candidate: MacroCandidate, value: int, measures: tuple[str, ...] = ()) -> Constant:
    """The Constant of a macro with its value and what its body and expansion refer to."""
    shape = candidate.shape or BodyShape()
    return Constant(candidate.name, value, candidate.location, shape.refs, measures, shape.flag_union)


def evaluate_macros(
    index: Index,
    filename: str,
    text: str,
    args: Sequence[str],
    unsaved: Sequence[tuple[str, str]],
    candidates: Sequence[MacroCandidate],
) -> dict[str, Constant]:
    """Values of the candidates that are integer constant expressions after all of `text` is read.

    Candidates that fail to compile are dropped; ones an earlier bad macro swallowed are parsed
    again without it, so one bad macro cannot take the others down.
    """
    by_name = {c.name: c for c in candidates}
    pending = [c.name for c in candidates]
    values: dict[str, Constant] = {}
    for _attempt in range(_PASSES):
        gen = generated(text, pending)
        tu = index.parse(filename, args=list(args), unsaved_files=[(filename, gen.source), *unsaved],
                         options=PARSE_OPTIONS)
        files = FileNames()
        measure = {name for name in pending if (shape := by_name[name].shape) is not None and shape.measures}
        judged = judge(located_diagnostics(tu, files), children(tu.cursor, VAR_DECL), filename, gen, pending, files,
                       measure)
        if judged is None:
            break  # the text itself is unfinished: no declaration after it can be trusted
        for name, value in judged.values.items():
            values[name] = constant_of(by_name[name], value, judged.measures.get(name, ()))
        pending = [pending[pos] for pos in judged.swallowed]
        if not pending:
            break
    return values
