#!/usr/bin/env python3
"""Fleet indexes: size against raw BTF, build time serial vs Dask, and `core --fleet` beside bpftool.

(1) Real Debian kernel packages in the test cache (scripts/kernels.sh) and this machine's vmlinux:
    index bytes against the kernels' raw BTF bytes, the packages' modules' split BTF included (the index
    holds the modules too) (goal <= 10%).
(2) Thousands of kernels generated from this machine's vmlinux BTF as a distro series would drift:
    the types around task_struct, sock, file, pt_regs, sk_buff ... (by value, and two pointer levels),
    then per version members appended, inserted, renamed and removed, enumerators and new types
    appearing (at random places, so ids shift), and per flavour config-dependent members. Each kernel
    is written as raw BTF by a small writer below. Measured: `fleet build` serial against a 2-worker
    Dask LocalCluster (byte-identical), and `core` of 6 objects over 1,000 kernels (warm).
Anchor: `bpftool gen min_core_btf KERNEL OUT OBJ` (libbpf's relocation code) once per kernel, one object,
on the generated kernels (a tenth of a real kernel's BTF: bpftool reads them in a few ms) and on this
machine's full-size vmlinux (the issue's "about 25 ms a kernel").

Usage: .venv/bin/python benchmarks/bench_fleet.py [--kernels 2000] [--workdir DIR] [--keep]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from abiguard.model import COMPOSITE_KINDS, Enumerator, Kind, Member, Type
from abiguard.sources.btf.decode import edges
from abiguard.sources.btf.reader import read_btf

ROOT = Path(__file__).resolve().parent.parent
ABIGUARD = ROOT / ".venv" / "bin" / "abiguard"
VMLINUX = Path("/sys/kernel/btf/vmlinux")
PACKAGES = Path.home() / ".cache" / "abiguard-tests" / "kernels"  # scripts/kernels.sh: the tests' few
BENCH_PACKAGES = Path.home() / ".cache" / "abiguard-bench" / "kernels"  # --download: more, for this benchmark only
ROOTS = ("task_struct", "sock", "file", "pt_regs", "bpf_perf_event_data", "sk_buff", "inode", "cred",
         "mm_struct", "net_device")
ENUMS = ("bpf_func_id", "bpf_prog_type", "bpf_attach_type", "bpf_map_type")

PRELUDE = r"""
typedef unsigned char __u8; typedef signed char __s8; typedef unsigned short __u16; typedef short __s16;
typedef unsigned int __u32; typedef int __s32; typedef unsigned long long __u64; typedef long long __s64;
typedef __u16 __be16; typedef __u32 __be32; typedef __u32 __wsum;
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#define PAI __attribute__((preserve_access_index))
"""
OBJECTS = {
    "fork": r"""
struct task_struct { int pid; int tgid; struct task_struct *real_parent; } PAI;
SEC("kprobe/wake_up_new_task") int on_fork(struct task_struct *t)
{ bpf_printk("%d %d", BPF_CORE_READ(t, real_parent, tgid), t->pid); return 0; }
""",
    "open": r"""
struct file { unsigned int f_flags; } PAI;
struct inode { unsigned long i_ino; } PAI;
SEC("kprobe/vfs_open") int on_open(struct file *f, struct inode *i)
{ bpf_printk("%u %lu", f->f_flags, BPF_CORE_READ(i, i_ino)); return 0; }
""",
    "net": r"""
struct sock_common { unsigned short skc_family; } PAI;
struct sock { struct sock_common __sk_common; } PAI;
struct sk_buff { unsigned int len; unsigned int mark; } PAI;
SEC("kprobe/tcp_sendmsg") int on_send(struct sock *sk, struct sk_buff *skb)
{ bpf_printk("%d %u %u", BPF_CORE_READ(sk, __sk_common.skc_family), skb->len, skb->mark); return 0; }
""",
    "regs": r"""
struct pt_regs___x86 { unsigned long di; } PAI;
struct pt_regs___arm64 { unsigned long orig_x0; } PAI;
struct pt_regs;
SEC("kprobe/do_sys_open") int read_arg(struct pt_regs *regs)
{
    unsigned long arg = 0;
    if (bpf_core_field_exists(((struct pt_regs___x86 *)regs)->di))
        arg = BPF_CORE_READ((struct pt_regs___x86 *)regs, di);
    else if (bpf_core_field_exists(((struct pt_regs___arm64 *)regs)->orig_x0))
        arg = BPF_CORE_READ((struct pt_regs___arm64 *)regs, orig_x0);
    bpf_printk("%lu", arg);
    return 0;
}
""",
    "perf": r"""
struct bpf_perf_event_data { __u64 sample_period; __u64 addr; } PAI;
SEC("perf_event") int on_sample(struct bpf_perf_event_data *ctx)
{ bpf_printk("%llu %llu", ctx->sample_period, ctx->addr); return 0; }
""",
    "creds": r"""
struct mm_struct { unsigned long total_vm; } PAI;
struct task_struct { struct mm_struct *mm; int fleet_new_0; } PAI;
enum bpf_func_id___x { BPF_FUNC_ktime_get_ns___x = 5 };
SEC("kprobe/x") int f(struct task_struct *t)
{
    __u64 v = BPF_CORE_READ(t, mm, total_vm);
    if (bpf_core_field_exists(t->fleet_new_0))
        v += BPF_CORE_READ(t, fleet_new_0);
    v += bpf_core_enum_value(enum bpf_func_id___x, BPF_FUNC_ktime_get_ns___x);
    bpf_printk("%llu", v);
    return 0;
}
""",
}


# --- a small BTF writer ----------------------------------------------------------------------


def write_btf(types: list[Type]) -> bytes:
    """Raw little-endian BTF of types[1:] (types[0] is void)."""
    strings = bytearray(b"\0")
    offsets: dict[str, int] = {"": 0}

    def s(text: str) -> int:
        off = offsets.get(text)
        if off is None:
            off = offsets[text] = len(strings)
            strings.extend(text.encode() + b"\0")
        return off

    words: list[int] = []
    for t in types[1:]:
        k = t.kind
        kf = 1 << 31 if t.kind_flag else 0
        if k == Kind.INT:
            words += (s(t.name), k << 24, t.size, int(t.encoding) << 24 | t.int_offset << 16 | t.int_bits)
        elif k in (Kind.PTR, Kind.TYPEDEF, Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG):
            words += (s(t.name), k << 24 | kf, t.ref)
        elif k == Kind.FUNC:
            words += (s(t.name), k << 24 | t.linkage, t.ref)
        elif k == Kind.ARRAY:
            words += (0, k << 24, 0, t.ref, t.index_type, t.nelems)
        elif k in COMPOSITE_KINDS:
            bitfields = any(m.bit_size for m in t.members)
            words += (s(t.name), k << 24 | (1 << 31 if bitfields else 0) | len(t.members), t.size)
            for m in t.members:
                words += (s(m.name), m.type, (m.bit_size << 24 | m.bit_offset) if bitfields else m.bit_offset)
        elif k == Kind.ENUM:
            words += (s(t.name), k << 24 | kf | len(t.enumerators), t.size)
            for e in t.enumerators:
                words += (s(e.name), e.value & 0xFFFFFFFF)
        elif k == Kind.ENUM64:
            words += (s(t.name), k << 24 | kf | len(t.enumerators), t.size)
            for e in t.enumerators:
                words += (s(e.name), e.value & 0xFFFFFFFF, (e.value >> 32) & 0xFFFFFFFF)
        elif k == Kind.FWD:
            words += (s(t.name), k << 24 | kf, 0)
        elif k == Kind.FUNC_PROTO:
            words += (0, k << 24 | len(t.params), t.ref)
            for p in t.params:
                words += (s(p.name), p.type)
        elif k == Kind.FLOAT:
            words += (s(t.name), k << 24, t.size)
        elif k == Kind.DECL_TAG:
            words += (s(t.name), k << 24 | kf, t.ref, t.component_idx & 0xFFFFFFFF)
        else:
            raise ValueError(f"the benchmark writer does not write {k.name}")
    body = struct.pack(f"<{len(words)}I", *words)
    header = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(body), len(body), len(strings))
    return header + body + bytes(strings)


# --- the generator ---------------------------------------------------------------------------


def trimmed_kernel(depth: int) -> list[Type]:
    """The roots' types of this machine's kernel, by value and `depth` pointer levels; other pointees forwards."""
    g = read_btf(VMLINUX).graph
    keep: set[int] = set()
    frontier = [i for r in ROOTS for i in g.ids_named(r) if g[i].kind in COMPOSITE_KINDS]
    frontier += [i for e in ENUMS for i in g.ids_named(e) if g[i].kind in (Kind.ENUM, Kind.ENUM64)]
    for _ in range(depth + 1):
        pointees: list[int] = []
        stack = list(frontier)
        while stack:
            t = stack.pop()
            if t in keep or t == 0:
                continue
            keep.add(t)
            ty = g[t]
            if ty.kind == Kind.PTR:
                pointees.append(ty.ref)
                continue
            stack.extend(edges(ty))
        frontier = pointees
    order = sorted(keep)
    new_id = {old: i + 1 for i, old in enumerate(order)}
    out: list[Type] = [Type(Kind.VOID)]
    fwds: dict[tuple[str, bool], int] = {}
    extra: list[Type] = []

    def ref(old: int) -> int:
        if old == 0 or old in new_id:
            return new_id.get(old, 0)
        t = g[g.strip(old)]
        if t.kind not in COMPOSITE_KINDS or not t.name:
            return 0  # a pointer to something left out becomes void *
        key = (t.name, t.kind == Kind.UNION)
        if key not in fwds:
            fwds[key] = len(order) + 1 + len(extra)
            extra.append(Type(Kind.FWD, t.name, kind_flag=key[1]))
        return fwds[key]

    for old in order:
        out.append(remap(g[old], ref))
    return out + extra


def remap(t: Type, ref) -> Type:
    return dataclasses.replace(
        t,
        ref=ref(t.ref) if t.ref else 0,
        index_type=ref(t.index_type) if t.index_type else 0,
        members=tuple(dataclasses.replace(m, type=ref(m.type)) for m in t.members),
        params=tuple(dataclasses.replace(p, type=ref(p.type) if p.type else 0) for p in t.params),
    )


def insert_type(types: list[Type], at: int, new: Type) -> list[Type]:
    """Insert at id `at`; every later id moves up by one (as new types shift a real kernel's ids)."""
    def ref(old: int) -> int:
        return old + 1 if old >= at else old

    shifted = [remap(t, ref) for t in types]
    return [*shifted[:at], new, *shifted[at:]]


def growable(types: list[Type]) -> list[int]:
    """Named structs nothing embeds by value: they may grow without overflowing a container."""
    embedded: set[int] = set()
    for t in types:
        for ref in [m.type for m in t.members] + ([t.ref] if t.kind in (Kind.ARRAY, Kind.TYPEDEF) else []):
            while types[ref].kind in (Kind.TYPEDEF, Kind.CONST, Kind.VOLATILE, Kind.ARRAY, Kind.TYPE_TAG):
                ref = types[ref].ref
            embedded.add(ref)
    return [i for i, t in enumerate(types) if t.kind == Kind.STRUCT and t.name and t.members and i not in embedded]


def next_version(types: list[Type], rng: random.Random, v: int, hot: list[int]) -> list[Type]:
    """One release later: a few structs change, an enum grows, a type appears."""
    types = list(types)
    u64 = next(i for i, t in enumerate(types) if t.kind == Kind.INT and t.size == 8)
    structs = growable(types)
    hot_ok = [h for h in hot if h in set(structs)] or structs
    for n in range(6):
        i = rng.choice(hot_ok) if n == 0 else rng.choice(structs)
        t = types[i]
        op = rng.choice(("append", "insert", "rename", "remove"))
        members = list(t.members)
        if op == "append" or (op == "remove" and len(members) < 2):
            end = (t.size + 7) // 8 * 8
            members.append(Member(f"fleet_v{v}_{n}", u64, end * 8))
            t = dataclasses.replace(t, members=tuple(members), size=end + 8)
        elif op == "insert":
            at = rng.randrange(len(members))
            if any(m.bit_size for m in members) or members[at].bit_offset % 64:
                continue
            moved = [dataclasses.replace(m, bit_offset=m.bit_offset + 64) for m in members[at:]]
            members = [*members[:at], Member(f"fleet_v{v}_{n}", u64, members[at].bit_offset), *moved]
            t = dataclasses.replace(t, members=tuple(members), size=t.size + 8)
        elif op == "rename":
            at = rng.randrange(len(members))
            if members[at].name:
                members[at] = dataclasses.replace(members[at], name=f"{members[at].name}_v{v}")
            t = dataclasses.replace(t, members=tuple(members))
        else:
            members.pop(rng.randrange(1, len(members)))
            t = dataclasses.replace(t, members=tuple(members))
        types[i] = t
    enums = [i for i, t in enumerate(types) if t.kind == Kind.ENUM and t.name]
    e = rng.choice(enums)
    top = max((x.value for x in types[e].enumerators), default=0)
    types[e] = dataclasses.replace(types[e], enumerators=(*types[e].enumerators, Enumerator(f"FLEET_V{v}", top + 1)))
    new = Type(Kind.STRUCT, f"fleet_new_{v}", size=8, members=(Member("value", u64, 0),))
    at = rng.randrange(1, len(types))
    hot[:] = [h + 1 if h >= at else h for h in hot]
    return insert_type(types, at, new)


def flavoured(types: list[Type], flavour: int, targets: list[int]) -> list[Type]:
    """Config-dependent members: flavour bit b adds a member to struct targets[b]."""
    out = list(types)
    u64 = next(i for i, t in enumerate(out) if t.kind == Kind.INT and t.size == 8)
    for b, i in enumerate(targets):
        if flavour >> b & 1:
            t = out[i]
            end = (t.size + 7) // 8 * 8
            out[i] = dataclasses.replace(t, members=(*t.members, Member(f"cfg_{b}", u64, end * 8)), size=end + 8)
    return out


def generate(workdir: Path, n_kernels: int, depth: int) -> list[Path]:
    base = trimmed_kernel(depth)
    rng = random.Random(2026)
    hot = [i for i, t in enumerate(base) if t.kind == Kind.STRUCT and t.name in ROOTS]
    flavours = 40
    versions = (n_kernels + flavours - 1) // flavours
    out: list[Path] = []
    types = base
    for v in range(versions):
        if v:
            types = next_version(types, rng, v, hot)
        structs = growable(types)
        hot_ok = [h for h in hot if h in set(structs)]
        targets = [*hot_ok[:2], *random.Random(v).sample(structs, 4)]
        vdir = workdir / "kernels" / ("a" if v < versions // 2 else "b") / f"v{v:03d}"
        vdir.mkdir(parents=True, exist_ok=True)
        for f in range(flavours):
            if len(out) == n_kernels:
                break
            path = vdir / f"6.{v}.0-{f}-fleet.btf"
            path.write_bytes(write_btf(flavoured(types, f, targets)))
            out.append(path)
    return out


# --- measuring -------------------------------------------------------------------------------


CPU: dict[str, float] = {}  # CPU seconds of the last timed command (the machine may be shared)
# Commands run as an installed abiguard runs: with its bytecode cached (pip compiles it at install time;
# the first, warming run writes it here). With PYTHONDONTWRITEBYTECODE every run compiles every module again.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
IMPORTS = ("import abiguard.cli, abiguard.api, abiguard.commands.core, abiguard.commands.common, "
           "abiguard.report.bpf, abiguard.bpf.fleet.query, abiguard.sources.btf.reader")  # what a query imports


def timed(cmd: list[str | Path], check: bool = True) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Wall seconds and the process; CPU["last"] gets its CPU seconds (children included)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=ENV)
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU["last"] = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if check and proc.returncode not in (0, 1):
        sys.exit(f"failed: {' '.join(map(str, cmd))}\n{proc.stderr}")
    return elapsed, proc


def startup() -> tuple[float, float]:
    """Least wall and CPU seconds of 5 runs of the interpreter importing what `core --fleet` imports."""
    cmd: list[str | Path] = [sys.executable, "-c", IMPORTS]
    timed(cmd)  # caches the bytecode
    runs = []
    for _ in range(5):
        runs.append((timed(cmd)[0], CPU["last"]))
    return min(w for w, _ in runs), min(c for _, c in runs)


def cpu_sum(cmds: list[list[str | Path]]) -> tuple[float, float]:
    """Wall and CPU seconds of running the commands one after another."""
    wall = cpu = 0.0
    for c in cmds:
        wall += timed(c)[0]
        cpu += CPU["last"]
    return wall, cpu


def engine_cpu(objs: list[Path], index: Path, select: dict[str, str]) -> float:
    """CPU seconds of a warm check and text report in this process (second of two runs)."""
    from abiguard.bpf.fleet.query import check_core_fleet
    from abiguard.report.bpf import RENDERERS

    spent = 0.0
    for _ in range(2):
        t0 = time.process_time()
        RENDERERS["text"](check_core_fleet(objs, index, select), False)
        spent = time.process_time() - t0
    return spent


def compile_objects(workdir: Path) -> list[Path]:
    objs = []
    for name, body in OBJECTS.items():
        src = workdir / f"{name}.bpf.c"
        obj = workdir / f"{name}.bpf.o"
        src.write_text(PRELUDE + body + '\nchar LICENSE[] SEC("license") = "GPL";\n')
        subprocess.run(["clang", "-target", "bpf", "-g", "-O2", "-c", str(src), "-o", str(obj)], check=True)
        objs.append(obj)
    return objs


def info(index: Path) -> dict:
    return json.loads(timed([ABIGUARD, "fleet", "info", index, "--format", "json"])[1].stdout)


def download(abis: list[str], flavours: list[str]) -> None:
    """Fetch linux-image-6.1.0-<abi>-<flavour>-unsigned packages with apt-get download (cached)."""
    BENCH_PACKAGES.mkdir(parents=True, exist_ok=True)
    BENCH_PACKAGES.chmod(0o755)  # apt downloads as its _apt user
    for abi in abis:
        for flavour in flavours:
            pkg = f"linux-image-6.1.0-{abi}-{flavour}-unsigned"
            if any(BENCH_PACKAGES.glob(f"{pkg}_*.deb")) or any(PACKAGES.glob(f"{pkg}_*.deb")):
                continue
            cmd = ["apt-get", "download", "-qq", pkg]
            proc = subprocess.run(cmd, cwd=BENCH_PACKAGES, capture_output=True, text=True)
            if proc.returncode:
                print(f"    (could not download {pkg}: {proc.stderr.strip()[:200]})")


def real_packages(workdir: Path) -> None:
    """Part (1): the real kernels at hand."""
    debs = sorted({p.name: p for p in [*PACKAGES.glob("*.deb"), *BENCH_PACKAGES.glob("*.deb")]}.values())
    kernels: list[Path] = [*debs]
    if VMLINUX.exists():
        kernels.append(VMLINUX)
    if not kernels:
        print("(1) no real kernels: run scripts/kernels.sh")
        return
    index = workdir / "real.fleet"
    t, proc = timed([ABIGUARD, "fleet", "build", *kernels, "-o", index, "--serial"], check=False)
    if proc.returncode:
        print(f"(1) packages not readable as kernels yet ({proc.stderr.strip()}); indexing vmlinux only")
        kernels = [VMLINUX]
        t, proc = timed([ABIGUARD, "fleet", "build", *kernels, "-o", index, "--serial"])
    cpu = CPU["last"]
    doc = info(index)
    print(f"(1) real kernels: {len(doc['kernels'])} ({', '.join(k['release'] or k['name'] for k in doc['kernels'])})")
    modules = doc.get("module_btf_bytes", 0)
    print(f"    raw BTF {doc['btf_bytes']:,} bytes ({modules:,} of them the packages' modules, which the index "
          f"holds), index {doc['index_bytes']:,} bytes = {100 * doc['size_ratio']:.2f}% of raw (goal <= 10%); "
          f"build {t:.1f} s serial ({cpu:.1f} s CPU); {doc['kernel_types']:,} types -> "
          f"{doc['records']:,} records")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kernels", type=int, default=2000)
    ap.add_argument("--depth", type=int, default=2, help="pointer levels kept around the root types")
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--skip-real", action="store_true")
    ap.add_argument("--skip-generated", action="store_true")
    ap.add_argument("--reuse", action="store_true", help="with --workdir: reuse its kernels and serial index")
    ap.add_argument("--download", metavar="ABI,...", help="first fetch 6.1.0-ABI amd64/cloud-amd64/rt-amd64 packages")
    args = ap.parse_args()
    if not VMLINUX.exists():
        sys.exit(f"{VMLINUX} is needed to generate kernels")
    bpftool = shutil.which("bpftool")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        if args.download:
            download(args.download.split(","), ["amd64", "cloud-amd64", "rt-amd64"])
        if not args.skip_real:
            real_packages(workdir)
        if args.skip_generated:
            return
        tree = workdir / "kernels"
        serial, dask = workdir / "serial.fleet", workdir / "dask.fleet"
        if args.reuse and serial.exists():
            kernels = sorted(tree.rglob("*.btf"))
            print(f"(2) reusing {len(kernels)} generated kernels and their index in {workdir}")
        else:
            t0 = time.perf_counter()
            kernels = generate(workdir, args.kernels, args.depth)
            raw = sum(k.stat().st_size for k in kernels)
            print(f"(2) generated {len(kernels)} kernels ({raw / len(kernels) / 1024:.0f} KiB of BTF each) "
                  f"in {time.perf_counter() - t0:.1f} s")
            print(f"    load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work shares it)")
            t_serial, _ = timed([ABIGUARD, "fleet", "build", tree, "-o", serial, "--serial"])
            c_serial = CPU["last"]
            t_dask, _ = timed([ABIGUARD, "fleet", "build", tree, "-o", dask, "--workers", "2"])
            same = serial.read_bytes() == dask.read_bytes()
            print(f"    build serial {t_serial:.1f} s ({c_serial:.1f} s CPU), Dask 2 workers {t_dask:.1f} s "
                  f"({CPU['last']:.1f} s CPU; x{t_serial / t_dask:.2f}); byte-identical: {same}")
        doc = info(serial)
        print(f"    index {doc['index_bytes']:,} bytes = {100 * doc['size_ratio']:.2f}% of {doc['btf_bytes']:,} "
              f"raw; {doc['kernel_types']:,} types -> {doc['records']:,} records (dedup x{doc['dedup_ratio']:.0f})")
        objs = compile_objects(workdir)
        half = "name=*/kernels/a/*"
        n_half = sum(1 for k in doc["kernels"] if "/kernels/a/" in k["name"])
        timed([ABIGUARD, "core", *objs, "--fleet", serial, "--select", half])  # warm the page cache
        t_six, proc = timed([ABIGUARD, "core", *objs, "--fleet", serial, "--select", half])
        print(f"    core: 6 objects x {n_half} kernels: {t_six:.2f} s warm ({CPU['last']:.2f} s CPU; goal < 2 s), "
              f"exit {proc.returncode}")
        small = workdir / "16.fleet"
        timed([ABIGUARD, "fleet", "build", *kernels[:16], "-o", small, "--serial"])
        timed([ABIGUARD, "core", objs[0], "--fleet", small])
        t16, _ = timed([ABIGUARD, "core", objs[0], "--fleet", small])
        c16 = CPU["last"]
        t1000, _ = timed([ABIGUARD, "core", objs[0], "--fleet", serial, "--select", half])
        c1000 = CPU["last"]
        e16, e1000 = engine_cpu([objs[0]], small, {}), engine_cpu([objs[0]], serial, {"name": "*/kernels/a/*"})
        e6 = engine_cpu(objs, serial, {"name": "*/kernels/a/*"})
        print(f"    in-process (no interpreter start-up or imports), CPU: 1 object x 16 kernels {e16:.3f} s, "
              f"x {n_half} {e1000:.3f} s, 6 objects x {n_half} {e6:.3f} s")
        if bpftool is None:
            print("    bpftool not installed: no anchor")
            return
        out = workdir / "min.btf"
        half_kernels = [k for k in kernels if "/kernels/a/" in str(k)]
        b16, bc16 = cpu_sum([[bpftool, "gen", "min_core_btf", k, out, objs[0]] for k in kernels[:16]])
        b1000, bc1000 = cpu_sum([[bpftool, "gen", "min_core_btf", k, out, objs[0]] for k in half_kernels])
        bv, bvc = cpu_sum([[bpftool, "gen", "min_core_btf", VMLINUX, out, objs[0]]] * 5)
        print(f"    anchor bpftool gen min_core_btf, 1 object: 16 kernels {b16:.2f} s ({bc16:.2f} s CPU), "
              f"{len(half_kernels)} kernels {b1000:.2f} s ({bc1000:.2f} s CPU, "
              f"{1000 * b1000 / len(half_kernels):.1f} ms a kernel); "
              f"on the full-size vmlinux {1000 * bv / 5:.1f} ms a kernel ({1000 * bvc / 5:.1f} ms CPU)")
        print(f"    abiguard core --fleet, 1 object: 16 kernels {t16:.2f} s ({c16:.2f} s CPU): "
              f"x{b16 / t16:.1f} wall, x{bc16 / c16:.1f} CPU against bpftool on these kernels; "
              f"x{16 * bv / 5 / t16:.1f} wall, x{16 * bvc / 5 / c16:.1f} CPU against bpftool on 16 full-size kernels")
        sw, sc = startup()
        print(f"    of which interpreter start-up and imports: {sw:.2f} s ({sc:.2f} s CPU; best of 5); "
              f"the engine itself {e16:.3f} s CPU")
        print(f"    in-process engine against bpftool on full-size kernels (CPU): "
              f"16 kernels x{16 * bvc / 5 / e16:.0f}, "
              f"{n_half} kernels x{n_half * bvc / 5 / e1000:.0f}")
        print(f"    abiguard core --fleet, 1 object: {n_half} kernels {t1000:.2f} s ({c1000:.2f} s CPU): "
              f"x{b1000 / t1000:.1f} wall, x{bc1000 / c1000:.1f} CPU against bpftool on these kernels; "
              f"x{n_half * bv / 5 / t1000:.1f} wall against bpftool on {n_half} full-size kernels "
              f"(goals: faster at 16, x100 at 1,000)")
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
