"""`unifdef -U__KERNEL__ -D__EXPORTED_HEADERS__` as headers_install runs it: resolve only those symbols.

Conditionals on other symbols are kept untouched for the compiler; like unifdef, a known branch of an
unknown chain turns `#elif` into `#if`/`#else`/`#endif` as needed so the output stays well formed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import Enum, auto

# Symbols headers_install decides: None = undefined (-U), a string = defined with that value (-D).
INSTALL_SYMBOLS: Mapping[str, str | None] = {"__KERNEL__": None, "__EXPORTED_HEADERS__": "1"}

_DIRECTIVE = re.compile(r"[ \t]*#[ \t]*([A-Za-z_]\w*)")


class _Val(Enum):
    TRUE = auto()
    FALSE = auto()
    UNKNOWN = auto()


class _State(Enum):
    """unifdef's per-#if states: what has been printed/decided so far in the chain."""

    FALSE_PREFIX = auto()  # nothing printed, every branch so far known false
    TRUE_PREFIX = auto()  # nothing printed, this branch known true: keep its lines only
    PASS_MIDDLE = auto()  # the #if line was kept (unknown), in an unknown branch
    FALSE_MIDDLE = auto()  # kept chain, this branch known false: drop it
    TRUE_MIDDLE = auto()  # kept chain, this branch known true (printed as #else)
    PASS_ELSE = auto()  # kept chain, in its #else
    FALSE_ELSE = auto()  # #else of a chain whose true branch was taken: drop
    TRUE_ELSE = auto()  # #else reached after all-false prefix: keep lines, drop directives
    FALSE_TRAILER = auto()  # a true branch was taken earlier: drop the rest
    DROP = auto()  # nested inside a dropped region


_DROPPING = {_State.FALSE_PREFIX, _State.FALSE_MIDDLE, _State.FALSE_ELSE, _State.FALSE_TRAILER, _State.DROP}


class _Expr:
    """unifdef's evaluator: || && == != < > <= >= ! () numbers defined(X) X; unknown symbols -> UNKNOWN."""

    def __init__(self, text: str, symbols: Mapping[str, str | None]) -> None:
        self.s = text
        self.i = 0
        self.symbols = symbols
        self.constexpr = True  # unifdef leaves purely numeric #if (e.g. #if 0) alone without -k

    def skip(self) -> None:
        s = self.s
        while self.i < len(s):
            if s[self.i] in " \t\r\n\f\v":
                self.i += 1
            elif s.startswith("/*", self.i):
                end = s.find("*/", self.i + 2)
                self.i = len(s) if end < 0 else end + 2
            elif s.startswith("//", self.i):
                self.i = len(s)
            elif s.startswith("\\\n", self.i):
                self.i += 2
            else:
                break

    def evaluate(self) -> _Val:
        try:
            val, _ = self._binary(0)
        except ValueError:
            return _Val.UNKNOWN
        self.skip()
        if self.i != len(self.s) or self.constexpr:
            return _Val.UNKNOWN
        return val

    _LEVELS = (("||",), ("&&",), ("==", "!="), ("<=", ">=", "<", ">"))

    def _binary(self, level: int) -> tuple[_Val, int]:
        if level == len(self._LEVELS):
            return self._unary()
        lt, a = self._binary(level + 1)
        while True:
            self.skip()
            op = next((o for o in self._LEVELS[level] if self.s.startswith(o, self.i)), None)
            if op is None:
                return lt, a
            self.i += len(op)
            rt, b = self._binary(level + 1)
            if op == "||" and _Val.TRUE in (lt, rt):
                lt, a = _Val.TRUE, 1
                continue
            if op == "&&" and _Val.FALSE in (lt, rt):
                lt, a = _Val.FALSE, 0
                continue
            if _Val.UNKNOWN in (lt, rt):
                lt = _Val.UNKNOWN
                continue
            a = int(
                {
                    "||": a or b,
                    "&&": a and b,
                    "==": a == b,
                    "!=": a != b,
                    "<=": a <= b,
                    ">=": a >= b,
                    "<": a < b,
                    ">": a > b,
                }[op]
            )
            lt = _Val.TRUE if a else _Val.FALSE

    def _symbol(self) -> str:
        m = re.compile(r"[A-Za-z_]\w*").match(self.s, self.i)
        if not m:
            raise ValueError("symbol expected")
        self.i = m.end()
        return m.group()

    def _unary(self) -> tuple[_Val, int]:
        self.skip()
        s = self.s
        if self.i >= len(s):
            raise ValueError("expression expected")
        c = s[self.i]
        if c == "!":
            self.i += 1
            val, v = self._unary()
            if val is _Val.UNKNOWN:
                return val, v
            return (_Val.FALSE, 0) if v else (_Val.TRUE, 1)
        if c == "(":
            self.i += 1
            val, v = self._binary(0)
            self.skip()
            if not s.startswith(")", self.i):
                raise ValueError(") expected")
            self.i += 1
            return val, v
        if c.isdigit():
            m = re.compile(r"(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)[uUlL]*").match(s, self.i)
            if not m:
                raise ValueError("bad number")
            self.i = m.end()
            v = int(m.group(1), 0) if not re.fullmatch(r"0[0-7]+", m.group(1)) else int(m.group(1), 8)
            return (_Val.TRUE if v else _Val.FALSE), v
        self.constexpr = False
        if re.compile(r"defined\b").match(s, self.i):
            self.i += len("defined")
            self.skip()
            paren = s.startswith("(", self.i)
            if paren:
                self.i += 1
                self.skip()
            name = self._symbol()
            self.skip()
            if paren:
                if not s.startswith(")", self.i):
                    raise ValueError(") expected")
                self.i += 1
            if name not in self.symbols:
                return _Val.UNKNOWN, 0
            return (_Val.TRUE, 1) if self.symbols[name] is not None else (_Val.FALSE, 0)
        name = self._symbol()
        if name not in self.symbols:
            self._skip_args()
            return _Val.UNKNOWN, 0
        value = self.symbols[name]
        if value is None:
            return _Val.FALSE, 0
        v = int(value, 0)
        self._skip_args()
        return (_Val.TRUE if v else _Val.FALSE), v

    def _skip_args(self) -> None:
        self.skip()
        if not self.s.startswith("(", self.i):
            return
        depth = 0
        while self.i < len(self.s):
            ch = self.s[self.i]
            self.i += 1
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
                if depth == 0:
                    return


def _classify(keyword: str, rest: str, symbols: Mapping[str, str | None]) -> _Val:
    if keyword in ("ifdef", "ifndef"):
        m = re.match(r"[ \t]*([A-Za-z_]\w*)", rest)
        if not m or m.group(1) not in symbols:
            return _Val.UNKNOWN
        tail = _Expr(rest[m.end() :], symbols)
        tail.skip()
        if tail.i != len(tail.s):
            return _Val.UNKNOWN  # trailing junk: unifdef passes the line through
        defined = symbols[m.group(1)] is not None
        return _Val.TRUE if defined == (keyword == "ifdef") else _Val.FALSE
    return _Expr(rest, symbols).evaluate()


# Block comments, and the strings/line comments that could hide a "/*"; matched left to right.
_LEXEME = re.compile(r"/\*.*?(?:\*/|\Z)|//[^\n]*|\"(?:\\.|[^\"\\\n])*\"?|'(?:\\.|[^'\\\n])*'?", re.S)


def _logical_lines(text: str) -> list[tuple[str, bool]]:
    """Physical lines joined at backslash-newlines, each flagged whether it starts inside a block comment."""
    comments: list[tuple[int, int]] = [
        (m.start(), m.end()) for m in _LEXEME.finditer(text) if m.group().startswith("/*")
    ]
    out: list[tuple[str, bool]] = []
    lines = text.splitlines(keepends=True)
    pos = 0
    ci = 0
    i = 0
    while i < len(lines):
        start = pos
        group = lines[i]
        i += 1
        while group.endswith("\\\n") and i < len(lines):
            group += lines[i]
            i += 1
        pos += len(group)
        while ci < len(comments) and comments[ci][1] <= start:
            ci += 1
        inside = ci < len(comments) and comments[ci][0] < start < comments[ci][1]
        out.append((group, inside))
    return out


def unifdef(text: str, symbols: Mapping[str, str | None] = INSTALL_SYMBOLS) -> str:
    """The header with conditionals on `symbols` resolved; other directives and lines are kept verbatim."""
    if not any(sym in text for sym in symbols):
        return text  # nothing to resolve: unifdef passes every line through
    out: list[str] = []
    stack: list[_State] = []

    def dropping() -> bool:
        return bool(stack) and stack[-1] in _DROPPING

    for line, in_comment in _logical_lines(text):
        m = None if in_comment else _DIRECTIVE.match(line)
        keyword = m.group(1) if m else ""
        if keyword not in ("if", "ifdef", "ifndef", "elif", "else", "endif"):
            if not dropping():
                out.append(line)
            continue
        assert m is not None
        rest = line[m.end() :]
        if keyword in ("if", "ifdef", "ifndef"):
            if dropping():
                stack.append(_State.DROP)
                continue
            val = _classify(keyword, rest, symbols)
            if val is _Val.UNKNOWN:
                out.append(line)
                stack.append(_State.PASS_MIDDLE)
            else:
                stack.append(_State.TRUE_PREFIX if val is _Val.TRUE else _State.FALSE_PREFIX)
            continue
        if not stack:
            out.append(line)  # unbalanced: leave it for the compiler to complain about
            continue
        state = stack[-1]
        if keyword == "endif":
            stack.pop()
            if state in (_State.PASS_MIDDLE, _State.FALSE_MIDDLE, _State.TRUE_MIDDLE, _State.PASS_ELSE):
                out.append(line)
            continue
        if state is _State.DROP:
            continue
        if keyword == "else":
            if state is _State.FALSE_PREFIX:
                stack[-1] = _State.TRUE_ELSE
            elif state in (_State.TRUE_PREFIX, _State.FALSE_TRAILER):
                stack[-1] = _State.FALSE_TRAILER
            elif state in (_State.PASS_MIDDLE, _State.FALSE_MIDDLE):
                out.append(line)
                stack[-1] = _State.PASS_ELSE
            elif state is _State.TRUE_MIDDLE:
                out.append(_edit_keyword(line, m, "endif"))
                stack[-1] = _State.FALSE_ELSE
            continue
        # elif
        if state in (_State.TRUE_PREFIX, _State.FALSE_TRAILER):
            stack[-1] = _State.FALSE_TRAILER
            continue
        if state is _State.TRUE_MIDDLE:
            out.append(_edit_keyword(line, m, "endif"))
            stack[-1] = _State.FALSE_TRAILER
            continue
        if state not in (_State.FALSE_PREFIX, _State.PASS_MIDDLE, _State.FALSE_MIDDLE):
            continue  # #elif after #else: malformed, dropped like the rest of a dropped chain
        val = _classify(keyword, rest, symbols)
        if state is _State.FALSE_PREFIX:
            if val is _Val.UNKNOWN:
                # The first live branch becomes the #if: "#elif" -> "#if  " as unifdef writes it.
                start = m.start(1)
                out.append(line[:start] + "if  " + line[start + 4 :])
                stack[-1] = _State.PASS_MIDDLE
            else:
                stack[-1] = _State.TRUE_PREFIX if val is _Val.TRUE else _State.FALSE_PREFIX
        elif val is _Val.UNKNOWN:
            out.append(line)
            stack[-1] = _State.PASS_MIDDLE
        elif val is _Val.TRUE:
            out.append(_edit_keyword(line, m, "else"))
            stack[-1] = _State.TRUE_MIDDLE
        else:
            stack[-1] = _State.FALSE_MIDDLE
    return "".join(out)


def _edit_keyword(line: str, m: re.Match[str], word: str) -> str:
    """unifdef's keywordedit: the directive keyword replaced and the rest of the line dropped."""
    newline = "\r\n" if line.endswith("\r\n") else "\n"
    return line[: m.start(1)] + word + newline
