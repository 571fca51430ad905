"""The public Python API on real inputs: the bundled 2022 example on every arch, BTF and BPF objects
compiled by clang in the test run. The CLI is a thin layer over it: its JSON equals the API's."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import abiguard
from abiguard import AbiguardError, Severity, UnknownName
from abiguard.model import ALL_ARCHES

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "user_pt_regs-2022"
ABIGUARD = Path(sys.executable).with_name("abiguard")
CHAIN = ("user_pt_regs", "bpf_user_pt_regs_t", "bpf_perf_event_data.regs")

LIB_C = """
struct point { int x; int y; };
struct shape { struct point origin; struct point *next; unsigned char tag; long area; };
typedef struct shape shape_t;
struct canvas { shape_t shapes[4]; int count; };
struct canvas *the_canvas;
"""


def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ABIGUARD), *map(str, args)], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def example_diff() -> abiguard.DiffReport:
    return abiguard.diff(EXAMPLE / "before", EXAMPLE / "after", arch="all")


def test_import_is_cheap() -> None:
    """`import abiguard` loads no reader, comparer or renderer: they come with the first call."""
    code = "import sys, abiguard; print(sorted(m for m in sys.modules if m.startswith('abiguard')))"
    loaded = json.loads(subprocess.check_output([sys.executable, "-c", code], text=True).replace("'", '"'))
    assert loaded == ["abiguard", "abiguard.errors"]


def test_diff_of_the_example_on_every_arch(example_diff: abiguard.DiffReport) -> None:
    r = example_diff
    assert r.verdict == Severity.BREAKING and r.breaks() and r.breaks("review")
    assert r.arches == ALL_ARCHES and r.notes == ()
    assert {f.arch for f in r.findings if f.severity == Severity.BREAKING} == {"s390x", "aarch64"}
    moved = [f for f in r.findings if f.kind == "member_offset_changed" and f.member == "sample_period"]
    assert sorted(f.arch for f in moved) == ["aarch64", "s390x"]
    assert all(f.type == "struct bpf_perf_event_data" and f.chain == CHAIN for f in moved)
    assert {(f.arch, f.old, f.new) for f in moved} == {("s390x", 152, 160), ("aarch64", 272, 280)}


def test_results_are_frozen(example_diff: abiguard.DiffReport) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        example_diff.verdict = Severity.IDENTICAL  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        example_diff.findings[0].severity = Severity.IDENTICAL  # type: ignore[misc]


def test_cli_diff_prints_what_the_api_returns(example_diff: abiguard.DiffReport) -> None:
    proc = _cli("diff", EXAMPLE / "before", EXAMPLE / "after", "--arch", "all", "--format", "json")
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout) == example_diff.to_json()
    assert proc.stdout == example_diff.render("json") + ("" if example_diff.render("json").endswith("\n") else "\n")


def test_diff_limited_to_one_type_and_arch() -> None:
    r = abiguard.diff(EXAMPLE / "before", EXAMPLE / "after", arch=["x86_64", "s390x"], types=["struct pt_regs"])
    assert r.arches == ("x86_64", "s390x")
    assert r.verdict == Severity.IDENTICAL and r.findings == () and not r.breaks()


def test_diff_with_a_waiver(tmp_path: Path) -> None:
    waivers = tmp_path / "waivers.toml"
    waivers.write_text(
        '[[waiver]]\ntype = "struct bpf_perf_event_data"\nmember = "sample_period"\narch = ["s390x"]\n'
        'kind = "member_offset_changed"\nreason = "frozen by bpf_user_pt_regs_t"\nexpires = 2099-01-01\n'
    )
    r = abiguard.diff(EXAMPLE / "before", EXAMPLE / "after", arch="s390x", waivers=waivers)
    waived = [f for f in r.findings if f.waived_by]
    assert [(f.arch, f.member, f.kind) for f in waived] == [("s390x", "sample_period", "member_offset_changed")]
    assert r.verdict == Severity.BREAKING  # addr still moved


def test_unknown_names_are_errors_in_domain_words() -> None:
    with pytest.raises(UnknownName) as arch:
        abiguard.load(EXAMPLE / "after", arch="vax")
    assert arch.value.what == "architecture" and "--" not in str(arch.value) and "vax" in str(arch.value)
    with pytest.raises(UnknownName) as typ:
        abiguard.diff(EXAMPLE / "before", EXAMPLE / "after", arch="s390x", types=["struct nowhere"])
    assert typ.value.what == "type" and "--" not in str(typ.value)
    report = abiguard.layout("user_pt_regs", EXAMPLE / "after", arch="s390x")
    with pytest.raises(UnknownName) as fmt:
        report.render("yaml")
    assert fmt.value.what == "format" and isinstance(fmt.value, AbiguardError)
    # The CLI names its own options.
    proc = _cli("layout", "user_pt_regs", EXAMPLE / "after", "--arch", "vax")
    assert proc.returncode == 2 and proc.stderr.startswith("abiguard: error: --arch: unknown architecture 'vax'")


def test_load_layout_and_users_of_clang_btf(compile_c: Callable[..., Path]) -> None:
    obj = compile_c(LIB_C, name="lib", cflags=["-O0"])  # clang -target bpf -g: an ELF object with .BTF
    (graph,) = abiguard.load(obj)
    assert graph.target.name == "bpfel" and graph.size_of(graph.resolve("struct shape")) == 32

    report = abiguard.layout("shape_t", obj)
    (lay,) = report.layouts
    assert (lay.arch, lay.size, report.missing) == ("bpfel", 32, ())
    assert lay.body is not None
    assert [(row.name, row.offset, row.size) for row in lay.body.rows] == [
        ("origin", 0, 8), ("next", 8, 8), ("tag", 16, 1), ("area", 24, 8)]
    assert lay.body.rows[2].hole == 7
    cli = _cli("layout", "shape_t", obj, "--format", "json")
    assert cli.returncode == 0 and json.loads(cli.stdout) == json.loads(report.render("json"))

    used = abiguard.users("struct point", obj)
    (res,) = used.results
    assert [(u.kind, u.name, u.path) for u in res.by_value] == [
        ("struct", "canvas", "canvas.shapes.origin (via typedef shape_t, array shape_t [4])"),
        ("struct", "shape", "shape.origin"),
        ("typedef", "shape_t", "shape_t.origin"),
    ]
    # shape.next points at a point, but shape holds one by value too: it is listed once, above.
    assert [(u.kind, u.name) for u in res.by_pointer] == [("var", "the_canvas")]
    cli = _cli("users", "struct point", obj, "--format", "json")
    assert cli.returncode == 0 and json.loads(cli.stdout) == json.loads(used.render("json"))


def test_layout_on_every_arch_of_the_example() -> None:
    report = abiguard.layout("bpf_perf_event_data", EXAMPLE / "after", arch="all")
    sizes = {lay.arch: lay.size for lay in report.layouts}
    assert set(sizes) == set(ALL_ARCHES) and report.missing == ()
    assert sizes["s390x"] == 176 and sizes["aarch64"] == 296


def _program_and_kernels(compile_c: Callable[..., Path]) -> tuple[Path, Path, Path]:
    """A CO-RE program reading user_regs.pc, a kernel whose BTF has it and one whose BTF lacks it."""
    prog = compile_c(
        "struct user_regs { unsigned long sp; unsigned long pc; } __attribute__((preserve_access_index));\n"
        "int get_pc(struct user_regs *r) { return __builtin_preserve_access_index(r->pc); }\n",
        name="prog",
    )
    good = compile_c("struct user_regs { unsigned long pc; unsigned long sp; };\nstruct user_regs *keep;\n",
                     name="good", cflags=["-O0"])
    bad = compile_c("struct user_regs { unsigned long sp; };\nstruct user_regs *keep;\n", name="bad", cflags=["-O0"])
    return prog, good, bad


def test_check_core_of_a_clang_bpf_object(compile_c: Callable[..., Path]) -> None:
    prog, good, bad = _program_and_kernels(compile_c)
    result = abiguard.check_core([prog], [good, bad], use_cache=False)
    assert isinstance(result, abiguard.CoreResult) and not result.ok
    by_kernel = {Path(v.kernel).name: v.ok for v in result.verdicts}
    assert by_kernel == {"good.o": True, "bad.o": False}
    cli = _cli("core", prog, "--kernel", good, "--kernel", bad, "--no-cache")
    assert cli.returncode == 1, cli.stderr


def test_check_core_on_a_fleet_index_equals_the_cli(compile_c: Callable[..., Path], tmp_path: Path) -> None:
    prog, good, bad = _program_and_kernels(compile_c)
    index = tmp_path / "two.fleet"
    built = _cli("fleet", "build", "--serial", good, bad, "-o", index)
    assert built.returncode == 0, built.stderr
    per_kernel = abiguard.check_core([prog], [good, bad], use_cache=False)
    on_fleet = abiguard.check_core([prog], fleet=index)
    assert on_fleet == per_kernel
    assert [(Path(v.kernel).name, v.ok) for v in on_fleet.verdicts] == [("good.o", True), ("bad.o", False)]
    only_good = abiguard.check_core([prog], fleet=index, select=f"name=*{good.name}")
    assert only_good.ok and only_good.kernels == (str(good),)
    cli = _cli("core", prog, "--fleet", index, "--select", f"name=*{good.name}", "--format", "json")
    assert cli.returncode == 0, cli.stderr
    assert [cell["kernel"] for cell in json.loads(cli.stdout)["matrix"]] == list(only_good.kernels)
    relocations = abiguard.check_core([prog], fleet=index, load_checks=False)
    assert all(not v.load_checked for v in relocations.verdicts)
    with pytest.raises(UnknownName):
        abiguard.check_core([prog], fleet=index, select="colour=red")
    with pytest.raises(AbiguardError):
        abiguard.check_core([prog], [good], fleet=index)
    with pytest.raises(AbiguardError):
        abiguard.check_core([prog], [good], select="arch=x86_64")
