"""Our ELF reader for BPF objects against pyelftools (the oracle): the same sections, symbols and relocations,
for objects clang builds in both byte orders and both ELF classes; a damaged object is one clean error."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection
from elftools.elf.sections import SymbolTableSection

from abiguard.elf import parse_elf

from . import test_load as lc
from .conftest import run_core

# Externs, weak symbols, globals, maps, .rodata and calls between programs: every relocation kind an object has.
MIXED = lc.WEAK_PROG % "!!bpf_rcu_read_lock" + """
__u64 counter; const volatile int limit = 3;
struct { __uint(type, 2); __uint(max_entries, 1); __type(key, int); __type(value, long); } m
    SEC(".maps");
static __attribute__((noinline)) int helper(int x) { return x + limit; }
SEC("kprobe/x") int k(void *ctx) { int key = 0; long *v = bpf_map_lookup_elem(&m, &key);
    counter++; return v ? helper(*v) : 0; }
"""


def _oracle(path: Path) -> tuple[list, list, dict]:
    """Sections, symbols and relocations as pyelftools reads them (numbers for its named constants)."""
    with path.open("rb") as f:
        elf = ELFFile(f)
        sections = [(s.name, s["sh_offset"], s["sh_size"], s["sh_flags"], s["sh_link"], s["sh_info"])
                    for s in elf.iter_sections()]
        symtab = next(s for s in elf.iter_sections() if isinstance(s, SymbolTableSection))
        special = {"SHN_UNDEF": 0, "SHN_ABS": 0xFFF1, "SHN_COMMON": 0xFFF2}
        symbols = [(s.name, special.get(s["st_shndx"], s["st_shndx"]), s["st_value"]) for s in symtab.iter_symbols()]
        relocs = {s.name: [(r["r_offset"], r["r_info_sym"]) for r in s.iter_relocations()]
                  for s in elf.iter_sections() if isinstance(s, RelocationSection)}
    return sections, symbols, relocs


def _ours(path: Path) -> tuple[list, list, dict]:
    elf = parse_elf(path.read_bytes())
    sections = [(s.name, s.offset, s.size, s.flags, s.link, s.info) for s in elf.sections]
    symbols = [(s.name, s.shndx, s.value) for s in elf.symbols() or []]
    relocs = {s.name: elf.relocations(s) for s in elf.sections if s.type in (4, 9)}
    return sections, symbols, relocs


@pytest.mark.parametrize("target", ["bpf", "bpfeb", "i386"])
def test_reader_agrees_with_pyelftools(bpf_prog, compile_c, target):
    if target == "i386":  # a 32-bit ELF with .rel sections
        obj = compile_c("extern int ext; int counter; static int f(void) { return ext; } int g(void) "
                        "{ return f() + counter; }\n", target="i386", name="elf32")
    else:
        obj = bpf_prog(MIXED, target=target, name=f"mixed-{target}")
    ours, oracle = _ours(obj), _oracle(obj)
    assert ours == oracle
    assert ours[2] and any(rows for rows in ours[2].values())  # relocations were compared, not two empty lists


def test_damaged_objects_are_clean_errors(bpf_prog, tmp_path):
    good = bpf_prog(MIXED, name="mixed").read_bytes()
    shoff, = struct.unpack_from("<Q", good, 0x28)
    shnum, = struct.unpack_from("<H", good, 0x3C)
    cases = {
        "truncated": good[: len(good) // 2],
        "table-past-end": good[:0x3C] + struct.pack("<H", 0x7FFF) + good[0x3E:],
        "name-table-index": good[:0x3E] + struct.pack("<H", shnum + 5) + good[0x40:],
        "header-only": good[:64],
    }
    # A section whose data runs past the end of the file: the last section header's sh_size, huge.
    last = shoff + (shnum - 1) * 64
    cases["section-past-end"] = good[: last + 32] + struct.pack("<Q", 1 << 40) + good[last + 40 :]
    kernel = bpf_prog(MIXED, name="kernel")
    for name, data in cases.items():
        obj = tmp_path / f"{name}.o"
        obj.write_bytes(data)
        rc, out, err = run_core(obj, "--kernel", kernel, "--no-cache")
        assert rc == 2 and out == "", (name, err)
        assert err.startswith(f"abiguard: error: {obj}: ") and err.count("\n") == 1, (name, err)
        assert "Traceback" not in err
