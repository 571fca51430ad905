"""Generated asm/unistd_*.h: syscall numbers from the arch's syscall table, as the 6.1 Makefiles make them.

Most arches run scripts/syscallhdr.sh (x86, arm, powerpc, sparc, mips); s390 has its own syscalltbl
script. The parameters (table, ABIs, offset, --emit-nr) are copied from each arch's Makefile.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class _Gen:
    out: str  # file name under asm/
    table: str  # tree path of the .tbl
    abis: tuple[str, ...]  # empty: every line
    offset: str = ""
    emit_nr: bool = False
    style: str = "syscallhdr"  # or "s390"


_GENERATORS: dict[str, tuple[_Gen, ...]] = {
    "x86": (
        _Gen("unistd_32.h", "arch/x86/entry/syscalls/syscall_32.tbl", ("i386",), emit_nr=True),
        _Gen("unistd_64.h", "arch/x86/entry/syscalls/syscall_64.tbl", ("common", "64"), emit_nr=True),
        _Gen("unistd_x32.h", "arch/x86/entry/syscalls/syscall_64.tbl", ("common", "x32"), "__X32_SYSCALL_BIT", True),
    ),
    "arm": (
        _Gen("unistd-oabi.h", "arch/arm/tools/syscall.tbl", ("common", "oabi"), "__NR_SYSCALL_BASE"),
        _Gen("unistd-eabi.h", "arch/arm/tools/syscall.tbl", ("common", "eabi"), "__NR_SYSCALL_BASE"),
    ),
    "powerpc": (
        _Gen("unistd_32.h", "arch/powerpc/kernel/syscalls/syscall.tbl", ("common", "nospu", "32"), emit_nr=True),
        _Gen("unistd_64.h", "arch/powerpc/kernel/syscalls/syscall.tbl", ("common", "nospu", "64"), emit_nr=True),
    ),
    "sparc": (
        _Gen("unistd_32.h", "arch/sparc/kernel/syscalls/syscall.tbl", ("common", "32"), emit_nr=True),
        _Gen("unistd_64.h", "arch/sparc/kernel/syscalls/syscall.tbl", ("common", "64"), emit_nr=True),
    ),
    "mips": tuple(
        _Gen(f"unistd_{abi}.h", f"arch/mips/kernel/syscalls/syscall_{abi}.tbl", (), "__NR_Linux")
        for abi in ("n32", "n64", "o32")
    ),
    "s390": (
        _Gen("unistd_32.h", "arch/s390/kernel/syscalls/syscall.tbl", ("common", "32"), style="s390"),
        _Gen("unistd_64.h", "arch/s390/kernel/syscalls/syscall.tbl", ("common", "64"), style="s390"),
    ),
}


def syscall_table_paths(karch: str) -> tuple[str, ...]:
    """The .tbl files the arch's generated UAPI headers come from."""
    return tuple(dict.fromkeys(g.table for g in _GENERATORS.get(karch, ())))


def _entries(table: str, abis: tuple[str, ...]) -> list[list[str]]:
    # grep -E "^[0-9A-Fa-fXx]+[[:space:]]+(abi1|abi2)": a prefix match on the ABI column, as the script does.
    alt = f"({'|'.join(abis)})" if abis else ""
    pattern = re.compile(rf"^[0-9A-Fa-fXx]+[ \t\n\r\f\v]+{alt}")
    return [line.split() for line in table.splitlines() if pattern.match(line)]


def _guard(name: str, prefix: str) -> str:
    guard = re.sub(r"[^A-Z0-9_]", "_", (prefix + name).upper())
    return guard.replace("__", "_")


def _syscallhdr(gen: _Gen, table: str) -> str:
    guard = _guard(gen.out, "_UAPI_ASM_")
    lines = [f"#ifndef {guard}", f"#define {guard}", ""]
    last = "0"
    for fields in _entries(table, gen.abis):
        nr = last = fields[0]
        if gen.offset:
            nr = f"({gen.offset} + {nr})"
        lines.append(f"#define __NR_{fields[2]} {nr}")
    if gen.emit_nr:
        lines += ["", "#ifdef __KERNEL__", f"#define __NR_syscalls {int(last, 0) + 1}", "#endif"]
    lines += ["", f"#endif /* {guard} */"]
    return "\n".join(lines) + "\n"


def _s390(gen: _Gen, table: str) -> str:
    guard = _guard(gen.out, "__UAPI_ASM_S390_")
    spdx = "/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */"
    lines = [spdx, f"#ifndef {guard}", f"#define {guard}", ""]
    # `sort -k1 -n`, stable on ties like the table order grep produced.
    for fields in sorted(_entries(table, gen.abis), key=lambda f: int(f[0])):
        lines.append(f"#define __NR_{fields[2]} {int(fields[0])}")
    lines += ["", f"#endif /* {guard} */"]
    return "\n".join(lines) + "\n"


def generate_syscall_headers(
    files: Mapping[str, bytes], karch: str
) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """({asm file name: (text, origin)}, {asm file name: why it was skipped}) for the arch's unistd headers."""
    made: dict[str, tuple[str, str]] = {}
    skipped: dict[str, str] = {}
    for gen in _GENERATORS.get(karch, ()):
        data = files.get(gen.table)
        if data is None:
            skipped[gen.out] = f"syscall table {gen.table} is missing"
            continue
        try:
            table = data.decode("utf-8", "replace")
            text = _s390(gen, table) if gen.style == "s390" else _syscallhdr(gen, table)
        except (ValueError, IndexError) as e:
            skipped[gen.out] = f"cannot read syscall table {gen.table}: {e}"
            continue
        made[gen.out] = (text, f"generated: {gen.table}")
    return made, skipped
