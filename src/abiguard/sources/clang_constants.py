"""Integer values of object-like `#define`s, as the compiler front end evaluates them for one target."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from clang.cindex import CursorKind, Diagnostic, Index, TranslationUnit

from ..model.types import Constant
from .clang_lib import PARSE_OPTIONS, FileNames, children, evaluate_int

_PREFIX = "__abg_c_"
_VAR_DECL = frozenset({CursorKind.VAR_DECL.value})
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


_DEFINE = re.compile(rb"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_][A-Za-z0-9_]*)(?![A-Za-z0-9_(])", re.M)
_INCLUDE = re.compile(rb'^[ \t]*#[ \t]*include[ \t]*[<"]([^>"]+)[>"]', re.M)


def _plausible_defines(text: bytes) -> Iterator[str]:
    """Names #defined in `text` with a body that could be an integer (a `{` could derail the parse)."""
    for m in _DEFINE.finditer(text):
        macro = object_like_macro(text, m.start(1))
        if macro is not None and macro_body_ok(macro[1]):
            yield macro[0]


def likely_macros(text: bytes, main_dir: str, include_dirs: Iterable[str], read: Callable[[str], bytes | None],
                  skip_dir: str) -> list[str]:
    """Names of object-like macros the files `text` includes (transitively) #define, by their text.

    An over-estimate (every #if branch counts) of the macros a TU will end with, known before it is
    parsed: their values can be asked in the same parse. `read` gives a file's bytes, None if absent.
    """
    dirs = list(include_dirs)
    names: dict[str, None] = dict.fromkeys(_plausible_defines(text))
    seen: set[str] = set()
    todo: list[tuple[bytes, str]] = [(text, main_dir)]
    while todo:
        data, here = todo.pop()
        for inc in _INCLUDE.findall(data):
            rel = inc.decode(errors="replace")
            for base in (here, *dirs):
                path = os.path.normpath(os.path.join(base, rel))
                if path in seen:
                    break
                content = read(path)
                if content is not None:
                    seen.add(path)
                    if not path.startswith(skip_dir):
                        names.update(dict.fromkeys(_plausible_defines(content)))
                        todo.append((content, os.path.dirname(path)))
                    break
    return list(names)


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


def generated(text: str, names: Sequence[str]) -> tuple[str, int]:
    """The TU text with one declaration per macro name appended; also the line of the first one."""
    body = text if text.endswith("\n") else text + "\n"
    # A sentinel first: found at file scope, it shows the TU's own text left the parser in order.
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


def judge(tu: TranslationUnit, filename: str, first_line: int, names: Sequence[str],
          candidates: Mapping[str, MacroCandidate]) -> tuple[dict[str, Constant], list[int]] | None:
    """Values of the generated declarations that can be trusted, and the positions to parse again;
    None when the TU's own text did not end at file scope (an unclosed brace in a header).

    A declaration found at file scope on its own line started from a clean parser state, so its
    errors (or their absence) are its own. One that is not at file scope was swallowed by an
    earlier macro that derailed the parser (e.g. one expanding to `{`): it is tried again.
    """
    failed = failures(tu.diagnostics, filename, first_line)
    values: dict[str, Constant] = {}
    present: set[int] = set()
    files = FileNames()
    for cursor in children(tu.cursor, _VAR_DECL):
        file, line, _ = files.cursor_start(cursor)
        # Generated declarations sit one per line, in candidate order, after the TU's own text.
        pos = line - first_line
        if file != filename or not -1 <= pos < len(names):
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
    return values, [pos for pos in range(len(names)) if pos not in present]


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
        found, again = judged
        values.update(found)
        pending = [pending[pos] for pos in again]
        if not pending:
            break
    return values
