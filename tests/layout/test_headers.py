"""`abiguard layout` on C headers for several arches: one block per arch, numbers from libclang."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from .conftest import require_tool, run_cli

HEADER = """\
typedef unsigned long long __u64;
struct sample { int a; __u64 b; char c; };
"""


@pytest.fixture
def header(tmp_path: Path) -> Path:
    path = tmp_path / "sample.h"
    path.write_text(HEADER)
    return path


def test_i386_aligns_u64_to_four(header: Path) -> None:
    proc = run_cli("layout", "sample", str(header), "--arch", "x86_64,i386", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    x86_64, i386 = json.loads(proc.stdout)
    assert (x86_64["arch"], i386["arch"]) == ("x86_64", "i386")
    assert [m["offset"] for m in x86_64["members"]] == [0, 8, 16]
    assert [m["offset"] for m in i386["members"]] == [0, 4, 12]
    assert (x86_64["size"], x86_64["align"], i386["size"], i386["align"]) == (24, 8, 16, 4)
    assert x86_64["align_derived"] is False and i386["align_derived"] is False


@pytest.mark.parametrize(("arch", "triple"), [("x86_64", "x86_64-linux-gnu"), ("i386", "i386-linux-gnu")])
def test_header_numbers_equal_the_compilers(arch: str, triple: str, header: Path, tmp_path: Path) -> None:
    proc = run_cli("layout", "struct sample", str(header), "--arch", arch, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    asserts = [f"_Static_assert(sizeof(struct sample) == {data['size']}, \"size\");",
               f"_Static_assert(_Alignof(struct sample) == {data['align']}, \"align\");"]
    asserts += [f"_Static_assert(__builtin_offsetof(struct sample, {m['name']}) == {m['offset']}, \"{m['name']}\");"
                for m in data["members"]]
    check = tmp_path / "check.c"
    check.write_text(HEADER + "\n".join(asserts) + "\n")
    cc = subprocess.run([require_tool("clang"), "-target", triple, "-fsyntax-only", str(check)],
                        capture_output=True, text=True)
    assert cc.returncode == 0, cc.stderr


def test_text_has_one_block_per_arch(header: Path) -> None:
    proc = run_cli("layout", "sample", str(header), "--arch", "x86_64,i386")
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert text.index("/* ===== x86_64 ===== */") < text.index("/* ===== i386 ===== */")
    x86_part, i386_part = text.split("/* ===== i386 ===== */")
    assert "/* XXX 4 bytes hole, try to pack */" in x86_part
    assert "XXX" not in i386_part
    assert "\t/* align: 4 (from the compiler) */" in i386_part
    assert "\t__u64                      b;                    /*     4     8 */" in i386_part


def test_the_2022_example_per_arch() -> None:
    """The bundled user_pt_regs example: regs size differs per arch, so sample_period moves."""
    example = Path(__file__).resolve().parents[2] / "examples" / "user_pt_regs-2022" / "before"
    if not example.exists():
        pytest.skip("examples/user_pt_regs-2022 is not in this checkout")
    proc = run_cli("layout", "bpf_perf_event_data", str(example), "--arch", "s390x,aarch64,x86_64,i386",
                   "--format", "json")
    assert proc.returncode == 0, proc.stderr
    by_arch = {d["arch"]: d for d in json.loads(proc.stdout)}
    offsets = {a: [m["offset"] for m in d["members"]] for a, d in by_arch.items()}
    assert offsets["aarch64"][1] == 272 and offsets["x86_64"][1] == 152
    assert by_arch["i386"]["align"] == 4 and by_arch["x86_64"]["align"] == 8


def test_type_missing_on_some_arches_warns_and_shows_the_others() -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "user_pt_regs-2022" / "after"
    if not example.exists():
        pytest.skip("examples/user_pt_regs-2022 is not in this checkout")
    proc = run_cli("layout", "user_pt_regs", str(example), "--arch", "x86_64,aarch64", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert "abiguard: warning: x86_64: no type named 'user_pt_regs'" in proc.stderr
    data = json.loads(proc.stdout)  # one arch left: one object
    assert data["arch"] == "aarch64" and data["members"][-1]["name"] == "orig_x0"
    nowhere = run_cli("layout", "no_such_type", str(example), "--arch", "x86_64,aarch64")
    assert nowhere.returncode == 2 and nowhere.stdout == ""


def test_users_through_s390s_anonymous_typedef() -> None:
    """s390 spells `typedef struct {...} user_pt_regs;`: its users are the anonymous struct's."""
    example = Path(__file__).resolve().parents[2] / "examples" / "user_pt_regs-2022" / "after"
    if not example.exists():
        pytest.skip("examples/user_pt_regs-2022 is not in this checkout")
    proc = run_cli("users", "user_pt_regs", str(example), "--arch", "s390x,aarch64", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    s390x, aarch64 = json.loads(proc.stdout)
    assert s390x["name"] == "typedef user_pt_regs" and aarch64["name"] == "struct user_pt_regs"
    for data in (s390x, aarch64):
        names = {u["name"] for u in data["by_value"]}
        assert "bpf_perf_event_data" in names and "user_pt_regs" not in names
        assert [u["name"] for u in data["by_pointer"]] == ["ptrace_regs_area"]
    assert {u["path"] for u in s390x["by_value"]} >= {
        "bpf_perf_event_data.regs (via typedef user_pt_regs, typedef bpf_user_pt_regs_t)"
    }
