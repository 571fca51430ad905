"""Known size-negotiated UAPI types: the kernel copies them by a size user space passes.

The package ships a checked list (data/size_negotiated.toml); a waivers file can add entries with the
same `[[size_negotiated]]` table. The growth rule reads them as evidence that appending is safe.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import AbiguardError

_KEYS = {"type", "reason", "syscall"}
_BUILTIN = "size_negotiated.toml"


@dataclass(frozen=True)
class SizeNegotiated:
    """One type the kernel copies by a caller-given size, and how."""

    type: str  # "union bpf_attr", or a bare name matching any keyword
    reason: str
    syscall: str = ""

    def matches(self, display: str) -> bool:
        if " " in self.type:
            return self.type == display
        return display.split()[-1] == self.type

    def note(self) -> str:
        """Why appending is safe, as a clause of the finding's message."""
        return f"appending is safe: {self.syscall} {self.reason}" if self.syscall else \
            f"appending is safe: {self.reason}"


@dataclass(frozen=True)
class NegotiatedTypes:
    """The entries in force for one comparison: the package's, then the user's."""

    entries: tuple[SizeNegotiated, ...] = ()

    def lookup(self, display: str) -> SizeNegotiated | None:
        """The user's entry for the type if there is one (it comes last), else the package's."""
        return next((e for e in reversed(self.entries) if e.matches(display)), None)

    def extended(self, more: Iterable[SizeNegotiated]) -> NegotiatedTypes:
        return NegotiatedTypes((*self.entries, *more))


def parse_entries(where: Path | str, entries: object) -> tuple[SizeNegotiated, ...]:
    """Validate `[[size_negotiated]]` tables; any problem is an AbiguardError naming `where`."""
    if not isinstance(entries, list):
        raise AbiguardError(where, "'size_negotiated' must be an array of tables ([[size_negotiated]])")
    out = []
    for i, entry in enumerate(entries, 1):
        if not isinstance(entry, Mapping):
            raise AbiguardError(where, f"size_negotiated #{i} is not a table")
        unknown = set(entry) - _KEYS
        if unknown:
            raise AbiguardError(where, f"size_negotiated #{i}: unknown key(s): {', '.join(sorted(unknown))}")
        for key in ("type", "reason"):
            if key not in entry:
                raise AbiguardError(where, f"size_negotiated #{i}: missing '{key}'")
        for key in _KEYS & set(entry):
            if not isinstance(entry[key], str) or not entry[key].strip():
                raise AbiguardError(where, f"size_negotiated #{i}: '{key}' must be a non-empty string")
        out.append(SizeNegotiated(" ".join(entry["type"].split()), entry["reason"].strip(),
                                  entry.get("syscall", "").strip()))
    return tuple(out)


def builtin_negotiated() -> NegotiatedTypes:
    """The package's checked list."""
    text = resources.files("abiguard").joinpath("data", _BUILTIN).read_text(encoding="utf-8")
    return NegotiatedTypes(parse_entries(_BUILTIN, tomllib.loads(text).get("size_negotiated", [])))
