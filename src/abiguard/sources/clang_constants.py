"""Integer values of object-like `#define`s, as the compiler front end evaluates them for one target."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from clang.cindex import CursorKind, Diagnostic, Index

from ..model.types import Constant
from .clang_lib import PARSE_OPTIONS, evaluate_int

_PREFIX = "__abg_c_"
# Characters that could end the generated declaration early and derail the parse of the ones after
# it; a double quote means a string literal, never an integer.
_UNSAFE = re.compile(rb'[;{}#"]')


@dataclass(frozen=True, slots=True)
class MacroCandidate:
    """An object-like macro whose body might be an integer constant expression."""

    name: str
    location: str


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


def _failed_lines(diagnostics: Sequence[Diagnostic], filename: str, first_line: int) -> set[int]:
    lines = set()
    for d in diagnostics:
        if d.severity < Diagnostic.Error:
            continue
        loc = d.location
        if loc.file is not None and loc.file.name == filename and loc.line >= first_line:
            lines.add(loc.line - first_line)
    return lines


def evaluate_macros(
    index: Index,
    filename: str,
    text: str,
    args: Sequence[str],
    unsaved: Sequence[tuple[str, str]],
    candidates: Sequence[MacroCandidate],
) -> dict[str, Constant]:
    """Values of the candidates that are integer constant expressions after all of `text` is read.

    Candidates that fail to compile are dropped and the TU parsed once more without them, so one
    bad macro cannot disturb the others.
    """
    if not candidates:
        return {}
    names = [c.name for c in candidates]
    indices = list(range(len(candidates)))
    tu = None
    for _attempt in range(2):
        source, first_line = _generated(text, names, indices)
        tu = index.parse(filename, args=list(args), unsaved_files=[(filename, source), *unsaved],
                          options=PARSE_OPTIONS)
        failed = _failed_lines(tu.diagnostics, filename, first_line)
        if not failed:
            break
        indices = [i for pos, i in enumerate(indices) if pos not in failed]
        if not indices:
            return {}
    else:
        # Still failing after the retry: keep only declarations that compiled cleanly.
        indices = [i for pos, i in enumerate(indices) if pos not in failed]
    wanted = set(indices)
    values: dict[str, Constant] = {}
    assert tu is not None
    for cursor in tu.cursor.get_children():
        if cursor.kind != CursorKind.VAR_DECL or not cursor.spelling.startswith(_PREFIX):
            continue
        i = int(cursor.spelling[len(_PREFIX):])
        if i not in wanted:
            continue
        value = evaluate_int(cursor)
        if value is not None:
            c = candidates[i]
            values[c.name] = Constant(c.name, value, c.location)
    return values
