"""Fleet indexes: `core --fleet` gives the per-kernel answers of `core --kernel`; builds are deterministic
however the work is spread; a damaged index is one clean error.

Kernels: clang-compiled kernel-like BTFs (variants with shifted ids, both byte orders, raw and ELF),
this machine's /sys/kernel/btf/vmlinux and Debian kernel packages when present.
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from . import test_relocate as progs
from .conftest import run_core
from .test_modules import MODULE_PROGS
from .test_oracle import VMLINUX_PROG

KERNEL_PACKAGES = Path(os.environ.get("ABIGUARD_TEST_CACHE", Path.home() / ".cache" / "abiguard-tests")) / "kernels"

# Reordered s390-old definitions: the same types under other ids.
S390_OLD_SHIFTED = """
struct pad_a { int a; }; struct pad_b { long b; };
""" + progs.S390_OLD


def abiguard(*args: str | Path, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from abiguard.cli import main; main()", *map(str, args)],
        capture_output=True, text=True, timeout=timeout,
    )


@pytest.fixture
def fleet_kernels(kernel_btf, tmp_path) -> list[Path]:
    """Kernel-like BTFs where the test programs relocate, fail, flavour, prune and ambiguate differently."""
    types = ["struct task", "struct renamed", "kuid_t", "struct strict"]
    arrays = ["struct arrs", "struct kind_change"]
    enum = ["enum state"]
    k1 = kernel_btf(progs.S390_OLD + progs.TYPES_KERNEL + progs.AMBIG_KERNEL + progs.ARRAYS_KERNEL
                    + progs.ENUM_KERNEL,
                    [*progs.S390_USES, *types, "struct conf___a", "struct conf___b", "struct far", *arrays, *enum],
                    name="k1")
    k2 = kernel_btf(progs.S390_NEW + progs.TYPES_KERNEL + progs.PRUNE_KERNEL + progs.ARRAYS_KERNEL,
                    [*progs.S390_NEW_USES, *types, "struct conf___a", "struct conf___b", *arrays], name="k2")
    k3 = kernel_btf(progs.ARM64 + progs.PRUNE_KERNEL, [*progs.ARM64_USES, "struct conf___a", "struct conf___b"],
                    name="k3", raw=True)
    k4 = kernel_btf(S390_OLD_SHIFTED + progs.TYPES_KERNEL + progs.ARRAYS_KERNEL,
                    ["struct pad_a", "struct pad_b", *progs.S390_USES, *types, *arrays], name="k4", raw=True)
    k5 = kernel_btf(progs.S390_NEW + progs.ENUM_KERNEL, [*progs.S390_NEW_USES, *enum], name="k5",
                    target="bpfeb")
    twin = tmp_path / "k1-twin.o"  # the same kernel twice under two names: stored once
    twin.write_bytes(k1.read_bytes())
    return [k1, k2, k3, k4, k5, twin]


@pytest.fixture
def fleet_objects(bpf_prog) -> list[Path]:
    types = bpf_prog(progs.TYPES_PROG, name="types")
    progs.retag(types, {"strict___loose", "strict___exact"}, 12)
    return [
        bpf_prog(progs.PERF_PROG, name="perf"),
        bpf_prog(progs.FLAVOR_PROG % progs.BOTH_ARCHES, name="flavors"),
        bpf_prog(progs.FLAVOR_PROG % progs.UNGUARDED_S390, name="unguarded"),
        bpf_prog(progs.V2_PROG, name="v2"),
        types,
        bpf_prog(progs.AMBIG_PROG, name="ambig"),
        bpf_prog(progs.PRUNE_LOCAL + progs.PRUNE_FIRST + progs.PRUNE_SECOND, name="prune1"),
        bpf_prog(progs.PRUNE_LOCAL + progs.PRUNE_SECOND + progs.PRUNE_FIRST, name="prune2"),
        bpf_prog(progs.ARRAYS_PROG, name="arrays"),
        bpf_prog(progs.ENUM_PROG, name="enum"),
        bpf_prog(VMLINUX_PROG, name="task"),
    ]


def build(out: Path, *kernels: Path | str, extra: tuple[str, ...] = ("--serial",)) -> Path:
    proc = abiguard("fleet", "build", *kernels, "-o", out, *extra)
    assert proc.returncode == 0, proc.stderr
    return out


def same_answers(objects: list[Path], kernels: list[Path | str], index: Path, cache: bool = False) -> None:
    """Every format of `core --fleet` equals `core --kernel` for the same kernels, exit code included,
    with the load checks and with relocations only.

    `cache`: let `--kernel` keep what it extracted from packages (results are keyed by the code's digest).
    """
    per_kernel = [a for k in kernels for a in ("--kernel", k)]
    no_cache = () if cache else ("--no-cache",)
    for fmt, only in (("json", ()), ("text", ()), ("json", ("--relocations-only",))):
        want = run_core(*objects, *per_kernel, *only, "--format", fmt, "--verbose", *no_cache)
        got = run_core(*objects, "--fleet", index, *only, "--format", fmt, "--verbose")
        assert want[0] in (0, 1), want[2]
        assert got[2] == "", got[2]
        diff = "".join(difflib.unified_diff(want[1].splitlines(True), got[1].splitlines(True), n=2))
        assert (got[0], got[1]) == (want[0], want[1]), diff[:4000]


def test_fleet_answers_equal_per_kernel_answers(fleet_kernels, fleet_objects, tmp_path):
    index = build(tmp_path / "f.fleet", *fleet_kernels)
    same_answers(fleet_objects, fleet_kernels, index)
    doc = json.loads(run_core(*fleet_objects, "--fleet", index, "--format", "json", "--verbose")[1])
    statuses = {r["status"] for cell in doc["matrix"] for r in cell["relocations"]}
    assert statuses >= {"ok", "zero", "poisoned", "error"}  # every outcome is exercised


def test_fleet_on_running_kernel_and_packages(fleet_objects, vmlinux_btf, kernel_btf, tmp_path):
    kernels: list[Path | str] = [vmlinux_btf, kernel_btf(progs.S390_OLD, progs.S390_USES, name="s390old")]
    index = build(tmp_path / "f.fleet", *kernels)
    same_answers(fleet_objects, kernels, index)


def test_fleet_of_debian_packages(fleet_objects, bpf_prog, tmp_path):
    """Real distro kernels as shipped (scripts/kernels.sh caches a few): the fleet answers per kernel too,
    for objects that need the packages' modules as well (kfuncs, attach targets and types defined there)."""
    packages = sorted(KERNEL_PACKAGES.glob("linux-image-*.deb"))
    if not packages:
        pytest.skip(f"no kernel packages in {KERNEL_PACKAGES} (run scripts/kernels.sh)")
    index = build(tmp_path / "debs.fleet", *packages, extra=("--workers", "2"))
    module_objects = [bpf_prog(body, name=name) for name, body in MODULE_PROGS.items()]
    same_answers([*fleet_objects, *module_objects], packages, index, cache=True)
    doc = json.loads(abiguard("fleet", "info", index, "--format", "json").stdout)
    assert [k["version"] for k in doc["kernels"]] == [p.name.split("_")[1] for p in packages]
    assert doc["records"] < doc["kernel_types"]  # kernels of one series share their types


def test_select_and_info(fleet_kernels, fleet_objects, tmp_path):
    index = build(tmp_path / "f.fleet", *fleet_kernels)
    only = ("--format", "json", "--no-cache")
    want = run_core(fleet_objects[0], "--kernel", fleet_kernels[4], *only)
    got = run_core(fleet_objects[0], "--fleet", index, "--select", "arch=s390x", "--format", "json")
    assert got[:2] == want[:2]
    rc, _, err = run_core(fleet_objects[0], "--fleet", index, "--select", "arch=sparc64")
    assert rc == 2 and err.startswith(f"abiguard: error: {index}: no kernel in the index matches")
    rc, _, err = run_core(fleet_objects[0], "--fleet", index, "--select", "colour=red")
    assert rc == 2 and err.startswith("abiguard: error: --select: ") and "KEY=VALUE" in err
    info = abiguard("fleet", "info", index, "--format", "json")
    assert info.returncode == 0, info.stderr
    doc = json.loads(info.stdout)
    assert [k["name"] for k in doc["kernels"]] == [str(k) for k in fleet_kernels]
    assert doc["arches"] == ["s390x", "x86_64"]
    assert doc["dedup_ratio"] > 1  # shared types are stored once (k1 and its twin entirely)
    text = abiguard("fleet", "info", index).stdout
    assert "dedup ratio" in text and str(fleet_kernels[3]) in text


def test_builds_are_byte_identical(fleet_kernels, tmp_path):
    serial = build(tmp_path / "serial.fleet", *fleet_kernels)
    dask = build(tmp_path / "dask.fleet", *fleet_kernels, extra=("--workers", "2"))
    assert dask.read_bytes() == serial.read_bytes()
    again = build(tmp_path / "again.fleet", *fleet_kernels)
    assert again.read_bytes() == serial.read_bytes()
    # --update appends kernels: the same bytes as building them all at once
    first = build(tmp_path / "upd.fleet", *fleet_kernels[:3])
    proc = abiguard("fleet", "build", "--serial", "--update", first, *fleet_kernels[3:])
    assert proc.returncode == 0, proc.stderr
    assert first.read_bytes() == serial.read_bytes()
    proc = abiguard("fleet", "build", "--serial", "--update", first, fleet_kernels[0])
    assert proc.returncode == 2 and "already in the fleet index" in proc.stderr
    assert first.read_bytes() == serial.read_bytes()  # nothing written on error


def test_directories_are_read_recursively(fleet_kernels, tmp_path):
    tree = tmp_path / "btfhub" / "ubuntu" / "20.04" / "x86_64"
    tree.mkdir(parents=True)
    for i, k in enumerate(fleet_kernels[:3]):
        (tree / f"5.4.0-{i}-generic.btf").write_bytes(k.read_bytes())
    (tree / "README").write_text("not a kernel")
    index = build(tmp_path / "hub.fleet", tmp_path / "btfhub")
    doc = json.loads(abiguard("fleet", "info", index, "--format", "json").stdout)
    assert [k["release"] for k in doc["kernels"]] == ["5.4.0-0-generic", "5.4.0-1-generic", "5.4.0-2-generic"]
    assert {k["distro"] for k in doc["kernels"]} == {"ubuntu 20.04"}


def test_damaged_indexes_are_clean_errors(fleet_kernels, fleet_objects, tmp_path):
    index = build(tmp_path / "f.fleet", *fleet_kernels[:2])
    blob = index.read_bytes()
    cases = {
        "truncated": blob[: len(blob) // 2],
        "header-only": blob[:20],
        "flipped": blob[:-100] + bytes([blob[-100] ^ 0xFF]) + blob[-99:],
        "version": blob[:8] + (99).to_bytes(4, "little") + blob[12:],
        "magic": b"NOTFLEET" + blob[8:],
        "empty": b"",
    }
    for label, data in cases.items():
        bad = tmp_path / f"{label}.fleet"
        bad.write_bytes(data)
        for args in (("core", fleet_objects[0], "--fleet", bad), ("fleet", "info", bad)):
            proc = abiguard(*args)
            assert proc.returncode == 2, (label, proc.stdout, proc.stderr)
            assert proc.stderr.startswith(f"abiguard: error: {bad}: "), (label, proc.stderr)
            assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "version 99" in abiguard("fleet", "info", tmp_path / "version.fleet").stderr
    proc = abiguard("fleet", "build", "--serial", "--update", tmp_path / "truncated.fleet", fleet_kernels[2])
    assert proc.returncode == 2
    assert (tmp_path / "truncated.fleet").read_bytes() == cases["truncated"]


def test_bad_kernel_input_is_a_clean_error(tmp_path):
    junk = tmp_path / "junk.btf"
    junk.write_bytes(b"\x9f\xeb\x01\x00" + b"\xff" * 40)
    out = tmp_path / "f.fleet"
    for extra in (("--serial",), ("--workers", "1")):
        proc = abiguard("fleet", "build", junk, "-o", out, *extra)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith(f"abiguard: error: {junk}: "), proc.stderr
        assert not out.exists()


def test_build_on_an_existing_cluster(fleet_kernels, tmp_path):
    distributed = pytest.importorskip("distributed")
    serial = build(tmp_path / "serial.fleet", *fleet_kernels)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, host="127.0.0.1", dashboard_address="127.0.0.1:0", processes=True
    ) as cluster:
        remote = build(tmp_path / "remote.fleet", *fleet_kernels, extra=("--scheduler", cluster.scheduler_address))
    assert remote.read_bytes() == serial.read_bytes()
    proc = abiguard("fleet", "build", *fleet_kernels, "-o", tmp_path / "x.fleet", "--scheduler", "tcp://127.0.0.1:9",
                    timeout=120)
    assert proc.returncode == 2 and proc.stderr.startswith("abiguard: error: tcp://127.0.0.1:9: cannot reach")


def test_fleet_load_checks_equal_per_kernel_answers(bpf_prog, kernel_btf, tmp_path):
    """Helpers, kfuncs (tags, prototypes), program/attach types, attach targets, maps and flags through an index."""
    from . import test_load as lc

    tag = lc.TAG
    base = lc.ATTACH_KERNEL
    uses = ["enum bpf_func_id", "enum bpf_prog_type", "enum bpf_attach_type", "enum bpf_map_type",
            "struct task_struct", "btf_trace_sched_switch"]
    old = lc.FUNC_IDS_OLD + lc.PROG_TYPES_OLD + lc.ATTACH_OLD + lc.MAP_KERNEL_OLD + base
    new = lc.FUNC_IDS_NEW + lc.PROG_TYPES_NEW + lc.ATTACH_NEW + lc.MAP_KERNEL_NEW + base
    kernels = [
        kernel_btf(old + "int other(void) { return 0; }", uses, name="l1"),
        kernel_btf(new + f"{tag} void bpf_rcu_read_lock(void) {{}} {tag} void bpf_rcu_read_unlock(void) {{}}",
                   uses, name="l2"),
        kernel_btf(new + "void bpf_rcu_read_lock(void) {} void bpf_rcu_read_unlock(void) {}", uses, name="l3"),
        kernel_btf(new + f"{tag} void bpf_rcu_read_lock(int x) {{}} {tag} void bpf_rcu_read_unlock(void) {{}}",
                   uses, name="l4"),
        kernel_btf("struct pad { int p; };\n" + new
                   + f"{tag} void bpf_rcu_read_lock(void) {{}} {tag} void bpf_rcu_read_unlock(void) {{}}",
                   [*uses, "struct pad"], name="l5", raw=True),
    ]
    attach = 'SEC("{}")\nint prog(unsigned long long *ctx) {{ return (int)ctx[{}]; }}\n'
    objects = [
        bpf_prog(lc.HELPER_PROG, name="helper"),
        bpf_prog(lc.KFUNC_PROG, name="kfunc"),
        bpf_prog('SEC("netfilter")\nint nf(void *ctx) { return 1; }\n', name="netfilter"),
        bpf_prog(attach.format("fentry/do_work", 2), name="fentry"),
        bpf_prog(attach.format("tp_btf/sched_switch", 1), name="tp"),
        bpf_prog(attach.format("lsm/file_open", 0), name="lsm"),
        bpf_prog(lc.MAP_PROG, name="maps"),
    ]
    index = build(tmp_path / "load.fleet", *kernels)
    same_answers(objects, kernels, index)
    doc = json.loads(run_core(*objects, "--fleet", index, "--format", "json")[1])
    text = json.dumps(doc)
    for outcome in ('"fails"', '"loads"', '"unknown"'):
        assert outcome in text  # every verdict is exercised
