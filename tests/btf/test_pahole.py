"""BTF from a second real encoder: pahole -J over gcc DWARF (signed ENUM, ENUM64, split BTF with --btf_base)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from abiguard.model import Kind
from abiguard.sources.btf.reader import read_btf, read_btf_file

from .bpftool_raw import assert_same_as_bpftool, bpftool_raw
from .conftest import ALL_KINDS_C, require_tool

BASE_C = r"""
struct list_head { struct list_head *next, *prev; };
typedef unsigned int u32;
struct base_s { u32 a; struct list_head l; long b; };
struct base_s base_var;
int base_fn(struct base_s *s) { return s->a; }
"""
# Repeats the base's types (pahole dedups them against the base) and adds its own.
MODULE_C = r"""
struct list_head { struct list_head *next, *prev; };
typedef unsigned int u32;
struct base_s { u32 a; struct list_head l; long b; };
enum wide { W_BIG = 0x123456789abcLL, W_NEG = -5LL };
enum uwide { UW_TOP = 0xfedcba9876543210ULL };
struct mod_s {
    struct base_s embedded;
    u32 flags:3, mode:5;
    struct mod_s *self;
    enum { M_NEG = -1, M_SEVEN = 7 } e;
    enum wide w;
    enum uwide uw;
};
struct mod_s mod_var;
int mod_fn(struct mod_s *m) { return m->flags; }
"""


def _encode(tmp_path: Path, name: str, source: str, base: Path | None = None) -> Path:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed")
    pahole = require_tool("pahole")
    src, obj, out = tmp_path / f"{name}.c", tmp_path / f"{name}.o", tmp_path / f"{name}.btf"
    src.write_text(source)
    subprocess.run([gcc, "-g", "-O2", "-w", "-c", str(src), "-o", str(obj)], check=True)
    cmd = [pahole, f"--btf_encode_detached={out}", str(obj)]
    if base is not None:
        cmd.insert(1, f"--btf_base={base}")
    subprocess.run(cmd, check=True, capture_output=True)
    return out


def test_pahole_encoded_btf_matches_bpftool(tmp_path: Path, bpftool: str) -> None:
    path = _encode(tmp_path, "kinds", ALL_KINDS_C)  # gcc 12 ignores the btf tags (-w)
    parsed = read_btf(path)
    parsed.validate_all()
    assert_same_as_bpftool(parsed.graph, bpftool_raw(bpftool, path))


def test_pahole_split_btf_on_its_base(tmp_path: Path, bpftool: str) -> None:
    base_path = _encode(tmp_path, "base", BASE_C)
    split_path = _encode(tmp_path, "module", MODULE_C, base=base_path)
    base = read_btf_file(base_path)
    split = read_btf(split_path, base=base)
    split.validate_all()
    g = split.graph
    assert_same_as_bpftool(g, bpftool_raw(bpftool, split_path, base=base_path), first_id=len(base))
    mod = g[g.resolve("struct mod_s")]
    assert g.resolve("struct mod_s") >= len(base)
    members = {m.name: m for m in mod.members}
    # pahole dedups against the base: the embedded struct is the base's own id.
    assert members["embedded"].type == base.resolve("struct base_s") < len(base)
    assert (members["flags"].bit_size, members["mode"].bit_size) == (3, 5)
    anon = g[members["e"].type]
    assert anon.kind == Kind.ENUM and anon.signed and [e.value for e in anon.enumerators] == [-1, 7]
    wide = g[g.resolve("enum wide")]
    assert wide.kind == Kind.ENUM64 and wide.signed
    assert [e.value for e in wide.enumerators] == [0x123456789ABC, -5]
    uwide = g[g.resolve("enum uwide")]
    assert uwide.kind == Kind.ENUM64 and not uwide.signed
    assert [e.value for e in uwide.enumerators] == [0xFEDCBA9876543210]
    assert g.size_of(g.resolve("struct mod_s")) == mod.size
