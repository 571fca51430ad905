"""Integer values of object-like `#define`s, as the compiler front end evaluates them for one target."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from clang.cindex import Cursor, CursorKind, Diagnostic, Index, TranslationUnit

from ..model.types import Constant
from .clang_lib import PARSE_OPTIONS, FileNames, children, evaluate_int

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


@dataclass(frozen=True, slots=True)
class DefineSite:
    """One `#define NAME body` in a file: `plausible` if the body could be an integer constant
    expression (see macro_body_ok), `literal` its value when it is one integer literal."""

    name: str
    plausible: bool
    literal: int | None


_FUNCTION_LIKE = DefineSite("", False, None)


@functools.lru_cache(maxsize=4096)
def define_sites(text: bytes) -> dict[int, DefineSite]:
    """Byte offset of every #define's name in `text` -> its site (name "" for a function-like macro).

    Memoized on the content: the same headers are read by many TUs and arches in one process.
    """
    sites: dict[int, DefineSite] = {}
    for m in _DEFINE.finditer(text):
        sites[m.start(1)] = site_of(text, m.start(1))
    return sites


def site_of(text: bytes, start: int) -> DefineSite:
    """The #define whose name starts at byte `start` of `text`."""
    macro = object_like_macro(text, start)
    if macro is None:
        return _FUNCTION_LIKE
    plausible = macro_body_ok(macro[1])
    return DefineSite(macro[0], plausible, literal_value(macro[1]) if plausible else None)


@functools.lru_cache(maxsize=4096)
def _includes(text: bytes) -> list[bytes]:
    return _INCLUDE.findall(text)


@functools.lru_cache(maxsize=4096)
def _plausible_names(text: bytes) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Names #defined in `text` with a body that could be an integer: (those that are no plain
    literal, those that are one)."""
    sites = define_sites(text).values()
    return (tuple(s.name for s in sites if s.plausible and s.literal is None),
            tuple(s.name for s in sites if s.plausible and s.literal is not None))


def likely_macros(text: bytes, main_dir: str, include_dirs: Iterable[str], read: Callable[[str], bytes | None],
                  skip_dir: str) -> tuple[list[str], list[str]]:
    """Names of object-like macros the files `text` includes (transitively) #define, by their text:
    those whose value the compiler must work out, and those that are a plain literal at every site.

    An over-estimate (every #if branch counts) of the macros a TU will end with, known before it is
    parsed: their values can be asked in the same parse. `read` gives a file's bytes, None if absent.
    """
    dirs = list(include_dirs)
    compiled: dict[str, None] = {}
    literal: dict[str, None] = {}

    def add(data: bytes) -> None:
        names, literals = _plausible_names(data)
        compiled.update(dict.fromkeys(names))
        literal.update(dict.fromkeys(literals))

    add(text)
    seen: set[str] = set()
    todo: list[tuple[bytes, str]] = [(text, main_dir)]
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
                        add(content)
                        todo.append((content, os.path.dirname(path)))
                    break
    return list(compiled), [name for name in literal if name not in compiled]


def macro_body_ok(body: bytes) -> bool:
    """True when an object-like macro body could be an integer constant expression.

    Empty bodies, strings and bodies that could end the generated declaration early (`;`, braces,
    unbalanced parentheses) are left out; the compiler decides about the rest.
    """
    if not body.strip() or _UNSAFE.search(body):
        return False
    depth = 0
    for ch in body:
        if ch == 0x28:  # (
            depth += 1
        elif ch == 0x29:  # )
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def generated(text: str, names: Sequence[str], literal_names: Sequence[str] = ()) -> tuple[str, int]:
    """The TU text with one declaration per macro name appended; also the line of the first one.

    Before them, each of `literal_names` gets a check that declares a marker only when the name is
    no macro at the end of the text (an #undef after the #define the scan saw).
    """
    body = text if text.endswith("\n") else text + "\n"
    body += "".join(f"#ifndef {name}\nstatic const int {_PREFIX}u{i};\n#endif\n"
                    for i, name in enumerate(literal_names))
    # A sentinel next: found at file scope, it shows the TU's own text left the parser in order.
    body += f"static const int {_PREFIX}sentinel = 0;\n"
    first_line = body.count("\n") + 1
    # File-scope initializers must be constant expressions, so anything else fails to compile;
    # __auto_type keeps the macro's own type (an unsigned 64-bit value stays unsigned).
    decls = "".join(f"static const __auto_type {_PREFIX}{i} = ({name});\n" for i, name in enumerate(names))
    return body + decls, first_line


_PASSES = 3  # parses of the generated declarations at most (each derailing macro may cost one)


def failures(diagnostics: Sequence[Diagnostic], filename: str, first_line: int) -> set[int]:
    """Positions of the generated lines that have errors."""
    lines: set[int] = set()
    for d in diagnostics:
        if d.severity < Diagnostic.Error:
            continue
        loc = d.location
        if loc.file is not None and loc.line >= first_line and loc.file.name == filename:
            lines.add(loc.line - first_line)
    return lines


@dataclass
class Judged:
    """What the generated declarations of one parse say: values, positions to parse again, and the
    literal names that turned out not to be macros at the end of the text."""

    values: dict[str, Constant]
    swallowed: list[int]
    undefined: set[str]


def judge(tu: TranslationUnit, filename: str, first_line: int, names: Sequence[str],
          candidates: Mapping[str, MacroCandidate], literal_names: Sequence[str] = (),
          var_decls: Sequence[Cursor] | None = None) -> Judged | None:
    """Values of the generated declarations that can be trusted, and the positions to parse again;
    None when the TU's own text did not end at file scope (an unclosed brace in a header).

    A declaration found at file scope on its own line started from a clean parser state, so its
    errors (or their absence) are its own. One that is not at file scope was swallowed by an
    earlier macro that derailed the parser (e.g. one expanding to `{`): it is tried again.
    `var_decls`: the TU's top-level variable declarations, when the caller has walked it already.
    """
    failed = failures(tu.diagnostics, filename, first_line)
    values: dict[str, Constant] = {}
    present: set[int] = set()
    undefined: set[str] = set()
    checks_first = first_line - 1 - 3 * len(literal_names)  # each check: #ifndef, marker, #endif
    files = FileNames()
    for cursor in children(tu.cursor, VAR_DECL) if var_decls is None else var_decls:
        file, line, _ = files.cursor_start(cursor)
        if file != filename:
            continue
        # Generated declarations sit one per line, in candidate order, after the TU's own text.
        pos = line - first_line
        if pos < -1:
            check = line - checks_first - 1
            if 0 <= check < 3 * len(literal_names) and check % 3 == 0:
                undefined.add(literal_names[check // 3])
            continue
        if pos >= len(names):
            continue
        present.add(pos)
        if pos < 0:
            continue  # the sentinel
        c = candidates.get(names[pos])
        if c is None or pos in failed:
            continue
        value = evaluate_int(cursor)
        if value is not None:
            values[c.name] = Constant(c.name, value, c.location)
    if -1 not in present:
        return None
    return Judged(values, [pos for pos in range(len(names)) if pos not in present], undefined)


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
        source, first_line = generated(text, pending)
        tu = index.parse(filename, args=list(args), unsaved_files=[(filename, source), *unsaved],
                         options=PARSE_OPTIONS)
        judged = judge(tu, filename, first_line, pending, by_name)
        if judged is None:
            break  # the text itself is unfinished: no declaration after it can be trusted
        values.update(judged.values)
        pending = [pending[pos] for pos in judged.swallowed]
        if not pending:
            break
    return values
