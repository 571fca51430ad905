"""Integer values of object-like `#define`s, as the compiler front end evaluates them for one target."""

from __future__ import annotations

import re
from collections.abc import Sequence
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


def _generated(text: str, names: Sequence[str], indices: Sequence[int]) -> tuple[str, int]:
    """The TU text with one declaration per candidate appended; also the line of the first one."""
    body = text if text.endswith("\n") else text + "\n"
    first_line = body.count("\n") + 1
    # File-scope initializers must be constant expressions, so anything else fails to compile;
    # __auto_type keeps the macro's own type (an unsigned 64-bit value stays unsigned).
    decls = "".join(f"static const __auto_type {_PREFIX}{i} = ({names[i]});\n" for i in indices)
    return body + decls, first_line


# The parse error after which the parser is back on track at the same line's `;`: a macro naming a
# type. Any other (e.g. a `{` from a nested macro opening a statement expression) might have
# swallowed the lines that follow without a word.
_CONTAINED = ("expected expression",)
_PASSES = 3  # parses of the generated declarations at most (each derailing macro costs one)


def _failures(diagnostics: Sequence[Diagnostic], filename: str, first_line: int) -> dict[int, bool]:
    """Generated line -> whether every error on it is contained (cannot disturb later lines)."""
    lines: dict[int, bool] = {}
    for d in diagnostics:
        if d.severity < Diagnostic.Error:
            continue
        loc = d.location
        if loc.file is None or loc.file.name != filename or loc.line < first_line:
            continue
        contained = d.category_name != "Parse Issue" or d.spelling in _CONTAINED
        pos = loc.line - first_line
        lines[pos] = lines.get(pos, True) and contained
    return lines


def _values(tu: TranslationUnit, filename: str, first_line: int, indices: Sequence[int],
            keep: set[int], candidates: Sequence[MacroCandidate]) -> dict[str, Constant]:
    """Evaluated generated declarations at the line positions in `keep`."""
    values: dict[str, Constant] = {}
    names = FileNames()
    for cursor in children(tu.cursor, _VAR_DECL):
        file, line, _ = names.cursor_start(cursor)
        # Generated declarations sit one per line, in candidate order, after the TU's own text.
        pos = line - first_line
        if file != filename or not 0 <= pos < len(indices) or pos not in keep:
            continue
        value = evaluate_int(cursor)
        if value is not None:
            c = candidates[indices[pos]]
            values[c.name] = Constant(c.name, value, c.location)
    return values


def evaluate_macros(
    index: Index,
    filename: str,
    text: str,
    args: Sequence[str],
    unsaved: Sequence[tuple[str, str]],
    candidates: Sequence[MacroCandidate],
) -> dict[str, Constant]:
    """Values of the candidates that are integer constant expressions after all of `text` is read.

    Candidates that fail to compile are dropped. If one failed in a way that might have derailed
    the parser (a parse error other than a plain "expected expression"), the candidates after it
    are parsed again without it, so one bad macro cannot take the others down.
    """
    if not candidates:
        return {}
    macro_names = [c.name for c in candidates]

    def parse(indices: Sequence[int]) -> tuple[TranslationUnit, int]:
        source, first_line = _generated(text, macro_names, indices)
        tu = index.parse(filename, args=list(args), unsaved_files=[(filename, source), *unsaved],
                         options=PARSE_OPTIONS)
        return tu, first_line

    pending = list(range(len(candidates)))
    values: dict[str, Constant] = {}
    for attempt in range(_PASSES):
        tu, first_line = parse(pending)
        failed = _failures(tu.diagnostics, filename, first_line)
        risky = min((pos for pos, contained in failed.items() if not contained), default=len(pending))
        end = len(pending) if attempt == _PASSES - 1 else risky
        keep = {pos for pos in range(end) if pos not in failed}
        values.update(_values(tu, filename, first_line, pending, keep, candidates))
        # Everything after the derailing macro is parsed again without it, even lines that
        # failed: their errors may have been the derailment's.
        pending = pending[risky + 1:]
        if not pending:
            break
    return values
