"""Pure rules: essential names, the .BTF.ext parser under random corruption, reachability folding."""

from __future__ import annotations

import platform
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abiguard.bpf.btf_ext import parse_btf_ext
from abiguard.bpf.compat import essential_name
from abiguard.bpf.insn import Code
from abiguard.bpf.objfile import read_object
from abiguard.bpf.reach import reachable
from abiguard.errors import AbiguardError

from . import test_relocate as progs
from .conftest import run_core


@pytest.mark.parametrize(
    ("name", "essential"),
    [
        ("sample", "sample"),
        ("sample___flavor_one", "sample"),
        ("sample___flavor___two", "sample___flavor"),  # only the last ___ suffix goes
        ("pt_regs___s390", "pt_regs"),
        ("a___b", "a"),
        ("___b", "___b"),  # X must not be an underscore
        ("a____b", "a____b"),  # four underscores: no X___Y with X, Y not underscores
        ("a___", "a___"),
        ("a___x_", "a"),
        ("", ""),
    ],
)
def test_essential_name(name, essential):
    assert essential_name(name) == essential


def _ext_of(path):
    from elftools.elf.elffile import ELFFile

    with path.open("rb") as f:
        sec = ELFFile(f).get_section_by_name(".BTF.ext")
        return sec.data()


@pytest.fixture(scope="module")
def sample_ext(tmp_path_factory):
    import subprocess

    from .conftest import PRELUDE, require_tool

    d = tmp_path_factory.mktemp("ext")
    src = d / "prog.c"
    src.write_text(PRELUDE + progs.FLAVOR_PROG % progs.BOTH_ARCHES + '\nchar LICENSE[] SEC("license") = "GPL";\n')
    obj = d / "prog.o"
    subprocess.run([require_tool("clang"), "-target", "bpf", "-g", "-O2", "-c", str(src), "-o", str(obj)],
                   check=True)
    parsed = read_object(obj)
    return _ext_of(obj), parsed


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_parser_never_crashes_on_corruption(sample_ext, data):
    raw, parsed = sample_ext
    blob = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 6))):
        pos = data.draw(st.integers(0, len(blob) - 1))
        blob[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(blob)))
    strings = parsed.btf  # the object's own graph bounds the type ids

    def string_at(off: int) -> str:
        if off > 4096:
            raise AbiguardError("x", "out of range")
        return "s"

    try:
        ext = parse_btf_ext(bytes(blob[:cut]), "x.o", string_at, len(strings))
    except AbiguardError as e:
        assert str(e).startswith("x.o: .BTF.ext at byte 0x")
        return
    for sec in ext.sections.values():
        for r in sec.core_relos:
            assert r.insn_off % 8 == 0 and 0 < r.type_id < len(strings)


def _asm(*insns: tuple[int, int, int, int, int]) -> Code:
    """Little-endian BPF instructions from (code, dst, src, off, imm)."""
    return Code(b"".join(struct.pack("<BBhi", c, d | (s << 4), o, i) for c, d, s, o, i in insns), False)


def test_reachability_folds_known_branches():
    code = _asm(
        (0xB7, 1, 0, 0, 0),  # r1 = 0          (a relocated field_exists that found nothing)
        (0x15, 1, 0, 1, 0),  # if r1 == 0 goto +1
        (0x85, 0, 0, 0, 195896080),  # poisoned read
        (0xB7, 0, 0, 0, 0),  # r0 = 0
        (0x95, 0, 0, 0, 0),  # exit
    )
    assert reachable(code, [0], [2]) == {0, 1, 3, 4}
    flipped = _asm((0xB7, 1, 0, 0, 1), *[_raw(code, i) for i in range(1, 5)])
    assert 2 in reachable(flipped, [0], [2])


def _raw(code: Code, i: int) -> tuple[int, int, int, int, int]:
    x = code.insn(i)
    return (x.code, x.dst, x.src, x.off, x.imm)


def test_reachability_unknown_values_keep_both_paths():
    code = _asm(
        (0x61, 1, 2, 0, 0),  # r1 = *(u32 *)(r2 + 0): unknown
        (0x15, 1, 0, 1, 0),
        (0x85, 0, 0, 0, 195896080),
        (0x95, 0, 0, 0, 0),
    )
    assert reachable(code, [0], [2]) == {0, 1, 2, 3}


def test_default_kernel_is_the_running_one(bpf_prog, vmlinux_btf):
    rc, out, err = run_core(bpf_prog(progs.PERF_PROG))
    assert rc == 0, err
    assert platform.release() in out  # the running kernel, named by its release
