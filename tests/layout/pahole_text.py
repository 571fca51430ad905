"""Parse pahole's (and our pahole-style) text output into comparable records, for the oracle tests."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

_OPEN = re.compile(r"^(\t*)(struct|union)(?: ([A-Za-z_]\w*))? \{$")
_MEMBER = re.compile(r"^(\t*)(.*?);\s*/\*\s*(\d+)(?::\s*(\d+))?\s+(\d+)\s*\*/$")
_HOLE = re.compile(r"^(\t*)/\* XXX (\d+) (byte|bit)s? hole, try to pack \*/$")
_LASTPAD = re.compile(r"^(\t*)/\* XXX last struct has (\d+) bytes? of padding \*/$")
_STAT = re.compile(
    r"^\t/\* (size|sum members|sum bitfield members|padding|paddings|bit_padding|last cacheline): (.*) \*/$"
)
_BOUNDARY = re.compile(r"^(\t*)/\* --- cacheline (\d+) boundary \((\d+) bytes\)(?: was (\d+) bytes? ago)? --- \*/$")
_ATTR = re.compile(r"\s*__attribute__\(\(__\w+__(?:\(\d+\))?\)\)")


@dataclass
class PaholeMember:
    """One printed member line: depth 1 is a member of the top-level type."""

    depth: int
    name: str
    offset: int
    bit: int | None  # bit inside the storage unit for bitfields
    bit_size: int | None
    size: int


@dataclass
class PaholeType:
    keyword: str
    name: str
    # printed order: members (inline closers after their contents), holes ("hole", depth, n, unit),
    # "last struct has N bytes of padding" notes and cacheline boundaries ("cacheline", depth, n, ago)
    items: list[tuple] = field(default_factory=list)
    stats: dict[str, str] = field(default_factory=dict)

    @property
    def members(self) -> list[PaholeMember]:
        return [i[1] for i in self.items if i[0] == "member"]

    @property
    def notes(self) -> list[tuple]:
        return [i for i in self.items if i[0] != "member"]


def member_name(decl: str) -> tuple[str, int | None]:
    """Member name and bitfield width from a printed declaration (`void (*fn)(int)`, `char a[4]`, `} x`)."""
    decl = _ATTR.sub("", decl)
    width = None
    m = re.search(r":(\d+)$", decl)
    if m:
        width = int(m.group(1))
        decl = decl[: m.start()]
    m = re.search(r"\(\s*\*\s*(?:(?:const|volatile|restrict)\s+)*([A-Za-z_]\w*)\s*\)", decl)
    if m:
        return m.group(1), width
    decl = re.sub(r"(\[\d*\])+$", "", decl.strip())
    if decl == "}":
        return "", width
    m = re.search(r"[\s*}]([A-Za-z_]\w*)$", decl)
    return (m.group(1) if m else ""), width


def parse(text: str) -> list[PaholeType]:
    """Every top-level struct/union in the text, in order."""
    types: list[PaholeType] = []
    current: PaholeType | None = None
    for line in text.splitlines():
        if current is None:
            m = _OPEN.match(line)
            if m and not m.group(1):
                current = PaholeType(m.group(2), m.group(3) or "")
            continue
        if line.startswith("}"):
            types.append(current)
            current = None
            continue
        m = _STAT.match(line)
        if m:
            current.stats[m.group(1)] = m.group(2)
            continue
        m = _HOLE.match(line)
        if m:
            current.items.append(("hole", len(m.group(1)), int(m.group(2)), m.group(3)))
            continue
        m = _BOUNDARY.match(line)
        if m:
            current.items.append(("cacheline", len(m.group(1)), int(m.group(2)), int(m.group(4) or 0)))
            continue
        m = _LASTPAD.match(line)
        if m:
            current.items.append(("lastpad", len(m.group(1)), int(m.group(2))))
            continue
        m = _MEMBER.match(line)
        if m:
            name, width = member_name(m.group(2))
            bit = int(m.group(4)) if m.group(4) is not None else None
            current.items.append(
                ("member", PaholeMember(len(m.group(1)), name, int(m.group(3)), bit, width, int(m.group(5))))
            )
    return types


def run_pahole(path: Path, names: Iterable[str]) -> dict[str, PaholeType]:
    """`pahole -F btf -C a,b,c FILE`, parsed; keyed by type name."""
    proc = subprocess.run(
        ["pahole", "-F", "btf", "-C", ",".join(names), str(path)], capture_output=True, text=True, check=True
    )
    return {t.name: t for t in parse(proc.stdout)}
