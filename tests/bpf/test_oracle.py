"""Oracle: `bpftool gen min_core_btf` relocates the same objects with libbpf's own code.

The struct/union members it keeps in its minimized BTF must be exactly the members our matches
relied on; where it fails on an object (a relocation error), we must report a failure too.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from abiguard.model import COMPOSITE_KINDS
from abiguard.sources.btf.reader import read_btf_file

from . import test_relocate as progs
from .conftest import core_json, require_tool

pytestmark = pytest.mark.slow  # bpftool runs once per object and kernel


@dataclass
class Libbpf:
    """What bpftool (libbpf) made of one object on one kernel."""

    members: set[tuple[str, str]] | None  # kept struct/union members; None: the relocation failed
    specs: dict[tuple[str, int], str | None]  # (section, relo #) -> first matching target spec


def _bpftool(kernel: Path, obj: Path, out: Path) -> Libbpf:
    proc = subprocess.run(
        [require_tool("bpftool"), "-d", "gen", "min_core_btf", str(kernel), str(out), str(obj)],
        capture_output=True, text=True,
    )
    specs: dict[tuple[str, int], str | None] = {}
    for line in proc.stderr.splitlines():
        m = re.match(r"libbpf: prog '([^']+)': relo #(\d+): (.*)$", line)
        if not m:
            continue
        key, text = (m[1], int(m[2])), m[3]
        if text.startswith("matching candidate") and specs.get(key) is None:
            specs[key] = re.sub(r"^matching candidate #\d+ <[a-z_0-9]+> \[\d+\] ", "", text)
        elif text == "no matching targets found":
            specs[key] = None
    if proc.returncode != 0:
        return Libbpf(None, specs)
    graph = read_btf_file(out)
    composites = [i for i in graph.ids() if graph[i].kind in COMPOSITE_KINDS]
    return Libbpf({(graph.describe(i), m.name) for i in composites for m in graph[i].members}, specs)


def _agree(obj: Path, kernels: list[Path], tmp_path: Path, label: str) -> int:
    """Compare us with libbpf on every kernel (one abiguard run for all); returns how many relocated."""
    args = [a for k in kernels for a in ("--kernel", k)]
    _, doc = core_json(obj, *args, "--no-cache")
    compared = 0
    for k in kernels:
        cell = next(c for c in doc["matrix"] if c["kernel"] == str(k))
        rs = cell["relocations"]
        error = any(r["status"] == "error" for r in rs)
        theirs = _bpftool(k, obj, tmp_path / f"{k.stem}.{label}.min.btf")
        if theirs.members is None:
            assert error, f"{label} on {k.name}: bpftool failed to relocate, we did not report an error"
            continue
        assert not error, f"{label} on {k.name}: libbpf relocated it, we reported an error"
        used = {(t, m) for r in rs for t, m in r["used"] if m is not None}
        assert used == theirs.members, f"{label} on {k.name}"
        ours = {(r["section"], r["index"]): r["target"] or None for r in rs if r["kind"] != "TYPE_ID_LOCAL"}
        assert theirs.specs and set(theirs.specs) == set(ours)
        for key, spec in theirs.specs.items():
            if spec is not None and spec.split(" ")[0] not in ("struct", "union", "typedef", "enum"):
                continue  # libbpf names other kinds its own way (`enum64`, `fwd`)
            assert ours[key] == spec, (label, k.name, key)
        compared += 1
    return compared


def _raw(kernel_btf, defs: str, uses: list[str], name: str) -> Path:
    return kernel_btf(defs, uses, name=f"kern_{name}", raw=True)


CASES = [
    ("perf", progs.PERF_PROG),
    ("flavor_guarded", progs.FLAVOR_PROG % progs.BOTH_ARCHES),
    ("flavor_unguarded", progs.FLAVOR_PROG % progs.UNGUARDED_S390),
    ("v2", progs.V2_PROG),
    ("bitfields", progs._pai(progs.BITFIELD_OLD) + progs.BITFIELD_BODY),
    ("enums", progs.ENUM_PROG),
    ("ambiguous", progs.AMBIG_PROG),
    ("arrays", progs.ARRAYS_PROG),
    ("prune_ok", progs.PRUNE_LOCAL + progs.PRUNE_FIRST + progs.PRUNE_SECOND),
    ("prune_ambiguous", progs.PRUNE_LOCAL + progs.PRUNE_SECOND + progs.PRUNE_FIRST),
]


@pytest.mark.parametrize(("label", "body"), CASES, ids=[c[0] for c in CASES])
def test_min_core_btf_agrees_on_kernel_like_btfs(bpf_prog, kernel_btf, tmp_path, label, body):
    obj = bpf_prog(body, name=label)
    kernels = {
        "s390_old": _raw(kernel_btf, progs.S390_OLD, progs.S390_USES, "s390_old"),
        "s390_new": _raw(kernel_btf, progs.S390_NEW, progs.S390_NEW_USES, "s390_new"),
        "arm64": _raw(kernel_btf, progs.ARM64, progs.ARM64_USES, "arm64"),
        "bitfields": _raw(kernel_btf, progs.BITFIELD_NEW, ["struct flags"], "bf"),
        "enums": _raw(kernel_btf, progs.ENUM_KERNEL, ["enum state"], "enums"),
        "ambig": _raw(kernel_btf, progs.AMBIG_KERNEL, ["struct conf___a", "struct conf___b", "struct far"], "ambig"),
        "arrays": _raw(kernel_btf, progs.ARRAYS_KERNEL, ["struct arrs", "struct kind_change"], "arrays"),
        "prune": _raw(kernel_btf, progs.PRUNE_KERNEL, ["struct conf___a", "struct conf___b"], "prune"),
    }
    assert _agree(obj, list(kernels.values()), tmp_path, label)


def test_type_matches_agrees(bpf_prog, kernel_btf, tmp_path):
    obj = bpf_prog(progs.TYPES_PROG)
    progs.retag(obj, {"strict___loose", "strict___exact"}, 12)
    kern = _raw(kernel_btf, progs.TYPES_KERNEL, ["struct task", "struct renamed", "kuid_t", "struct strict"], "t")
    assert _agree(obj, [kern], tmp_path, "types") == 1
    theirs = _bpftool(kern, obj, tmp_path / "types.min.btf")
    assert theirs.members is not None
    assert ("struct strict", "b") in theirs.members  # TYPE_MATCHES keeps every member of the matched struct


VMLINUX_PROG = """
struct task_struct { int pid; int tgid; struct task_struct *real_parent; void *stack; }
    __attribute__((preserve_access_index));
struct file { unsigned int f_flags; } __attribute__((preserve_access_index));
struct sock_common { unsigned short skc_family; } __attribute__((preserve_access_index));
struct sock { struct sock_common __sk_common; } __attribute__((preserve_access_index));
SEC("kprobe/x")
int f(struct task_struct *t)
{
    int ppid = BPF_CORE_READ(t, real_parent, tgid);
    void *stack = BPF_CORE_READ(t, stack);
    bpf_printk("%d %d %p", t->pid, ppid, stack);
    return 0;
}
SEC("kprobe/y")
int g(struct sock *sk)
{
    bpf_printk("%d %d", BPF_CORE_READ(sk, __sk_common.skc_family), bpf_core_type_exists(struct file));
    return 0;
}
"""


@pytest.mark.parametrize("body", [progs.PERF_PROG, progs.FLAVOR_PROG % progs.BOTH_ARCHES, VMLINUX_PROG],
                         ids=["perf", "flavors", "task"])
def test_min_core_btf_agrees_on_running_kernel(bpf_prog, vmlinux_btf, tmp_path, body):
    obj = bpf_prog(body)
    assert _agree(obj, [vmlinux_btf], tmp_path, "vmlinux") == 1
    if body is VMLINUX_PROG:
        members = _bpftool(vmlinux_btf, obj, tmp_path / "again.min.btf").members or set()
        assert ("struct task_struct", "real_parent") in members and ("struct sock_common", "skc_family") in members
