#!/usr/bin/env python3
"""`abiguard core` on one BPF object against 100 kernel BTFs, first run and cached, beside bpftool.

Kernels: 100 distinct kernel-like BTFs compiled by clang from generated struct-definition files
(a few thousand structs each, the relocated structs varying in members and padding from kernel to
kernel), each packed as a BTFHub-style `<uname>.btf.tar.xz`, plus /sys/kernel/btf/vmlinux when present.
Anchor: `bpftool gen min_core_btf KERNEL OUT OBJ` (libbpf's relocation code) once per kernel, on the
raw BTF files (bpftool cannot read the archives, so its time excludes decompression).

Usage: .venv/bin/python benchmarks/bench_core.py [--kernels N] [--filler N] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ABIGUARD = ROOT / ".venv" / "bin" / "abiguard"
VMLINUX = Path("/sys/kernel/btf/vmlinux")

PROG = r"""
typedef unsigned char __u8; typedef signed char __s8; typedef unsigned short __u16; typedef short __s16;
typedef unsigned int __u32; typedef int __s32; typedef unsigned long long __u64; typedef long long __s64;
typedef __u16 __be16; typedef __u32 __be32; typedef __u32 __wsum;
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
struct pt_regs___s390 { unsigned long orig_gpr2; } __attribute__((preserve_access_index));
struct pt_regs___arm64 { unsigned long orig_x0; } __attribute__((preserve_access_index));
struct pt_regs;
struct task_struct { int pid; int tgid; struct task_struct *real_parent; } __attribute__((preserve_access_index));
struct bpf_perf_event_data { __u64 sample_period; __u64 addr; } __attribute__((preserve_access_index));
SEC("kprobe/do_sys_open")
int read_arg(struct pt_regs *regs)
{
    unsigned long arg = 0;
    if (bpf_core_field_exists(((struct pt_regs___s390 *)regs)->orig_gpr2))
        arg = BPF_CORE_READ((struct pt_regs___s390 *)regs, orig_gpr2);
    else if (bpf_core_field_exists(((struct pt_regs___arm64 *)regs)->orig_x0))
        arg = BPF_CORE_READ((struct pt_regs___arm64 *)regs, orig_x0);
    bpf_printk("%lu", arg);
    return 0;
}
SEC("kprobe/wake_up_new_task")
int on_fork(struct task_struct *t)
{
    bpf_printk("%d %d", BPF_CORE_READ(t, real_parent, tgid), t->pid);
    return 0;
}
SEC("perf_event")
int on_sample(struct bpf_perf_event_data *ctx)
{
    bpf_printk("%llu", ctx->sample_period);
    return 0;
}
char LICENSE[] SEC("license") = "GPL";
"""


def kernel_source(seed: int, filler: int) -> str:
    """One kernel's type definitions: filler structs plus the relocated ones, laid out per seed."""
    rnd = random.Random(seed)
    lines = ["typedef unsigned long long u64; typedef unsigned int u32; typedef unsigned short u16;"]
    for i in range(filler):
        n = 3 + (i + seed) % 6
        members = " ".join(f"{rnd.choice(['u64', 'u32', 'u16', 'char'])} m{j};" for j in range(n))
        nxt = f"struct s{(i * 7 + seed) % filler} *next;" if filler else ""
        lines.append(f"struct s{i} {{ {members} {nxt} }};")
    pad = " ".join(f"u64 pad{j};" for j in range(seed % 5))
    arch = seed % 3
    if arch == 0:  # s390-like, orig_gpr2 only from "newer" kernels on
        extra = "unsigned long orig_gpr2;" if seed % 2 else ""
        lines.append(f"struct pt_regs {{ unsigned long args[1]; u64 psw[2]; unsigned long gprs[16]; {extra} }};")
    elif arch == 1:  # arm64-like
        lines.append(f"struct pt_regs {{ u64 regs[31]; u64 sp; u64 pc; u64 pstate; {pad} u64 orig_x0; }};")
    else:  # x86-like: neither field
        lines.append("struct pt_regs { unsigned long r15, r14, r13, r12, bp, bx, r11, r10, ax, cx, dx, si, di; };")
    lines.append(f"struct task_struct {{ u32 state; {pad} int pid; int tgid; struct task_struct *real_parent; }};")
    lines.append(f"struct bpf_perf_event_data {{ struct pt_regs regs; {pad} u64 sample_period; u64 addr; }};")
    keep = [f"struct s{i} *k{i};" for i in range(filler)]
    keep += ["struct pt_regs *kp; struct task_struct *kt; struct bpf_perf_event_data *kd;"]
    return "\n".join(lines + keep) + "\n"


def build(workdir: Path, count: int, filler: int) -> tuple[Path, list[Path], list[Path]]:
    """The object, the BTFHub-style archives and the raw BTFs (reused when already built)."""
    clang, objcopy = shutil.which("clang"), shutil.which("llvm-objcopy")
    if not clang or not objcopy:
        sys.exit("bench_core: clang and llvm-objcopy are needed (run scripts/setup.sh)")
    workdir.mkdir(parents=True, exist_ok=True)
    src = workdir / "prog.bpf.c"
    obj = workdir / "prog.bpf.o"
    src.write_text(PROG)
    subprocess.run([clang, "-target", "bpf", "-g", "-O2", "-c", str(src), "-o", str(obj)], check=True)
    hub, raws = [], []
    for seed in range(count):
        uname = f"5.{seed // 10}.{seed % 10}-bench"
        arch_dir = workdir / "btfhub" / "distro" / f"r{seed // 10}" / ["s390x", "arm64", "x86_64"][seed % 3]
        archive = arch_dir / f"{uname}.btf.tar.xz"
        raw = workdir / "raw" / f"{uname}.btf"
        if not archive.exists() or not raw.exists():
            arch_dir.mkdir(parents=True, exist_ok=True)
            raw.parent.mkdir(parents=True, exist_ok=True)
            c = workdir / "src" / f"{uname}.c"
            c.parent.mkdir(parents=True, exist_ok=True)
            c.write_text(kernel_source(seed, filler))
            o = c.with_suffix(".o")
            subprocess.run([clang, "-target", "bpf", "-g", "-O0", "-c", str(c), "-o", str(o)], check=True)
            subprocess.run([objcopy, f"--dump-section=.BTF={raw}", str(o)], check=True)
            with tarfile.open(archive, "w:xz") as tar:
                tar.add(raw, arcname=f"{uname}.btf")
        hub.append(archive)
        raws.append(raw)
    return obj, hub, raws


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    return time.perf_counter() - start, proc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernels", type=int, default=100)
    ap.add_argument("--filler", type=int, default=3000, help="filler structs per kernel BTF")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "abiguard-bench-core")
    args = ap.parse_args()
    obj, hub, raws = build(args.workdir, args.kernels, args.filler)
    kernels = [str(args.workdir / "btfhub")]
    bpftool_kernels = list(raws)
    if VMLINUX.exists():
        kernels.append(str(VMLINUX))
        bpftool_kernels.append(VMLINUX)
    sizes = sum(p.stat().st_size for p in raws)
    print(f"object: {obj}")
    print(f"kernels: {len(hub)} .btf.tar.xz archives ({sizes / 1e6:.1f} MB raw BTF)"
          + (" + /sys/kernel/btf/vmlinux" if VMLINUX.exists() else ""))

    cache = args.workdir / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    kernel_args = [arg for k in kernels for arg in ("--kernel", k)]
    cmd = [str(ABIGUARD), "core", str(obj), *kernel_args, "--format", "json"]
    first, p1 = timed(cmd, env)
    cached, p2 = timed(cmd, env)
    if p1.returncode not in (0, 1) or p2.stdout != p1.stdout:
        sys.exit(f"bench_core: abiguard failed or cached output differs: {p1.stderr or p2.stderr}")
    doc = json.loads(p1.stdout)
    fails = sum(1 for c in doc["matrix"] if not c["ok"])

    bpftool = shutil.which("bpftool")
    tool_time = None
    tool_fail = 0
    if bpftool:
        out = args.workdir / "min.btf"
        start = time.perf_counter()
        for k in bpftool_kernels:
            proc = subprocess.run([bpftool, "gen", "min_core_btf", str(k), str(out), str(obj)], capture_output=True)
            tool_fail += proc.returncode != 0
        tool_time = time.perf_counter() - start

    n = len(doc["matrix"])
    print(f"abiguard core, first run (empty cache): {first:7.2f} s  ({n} kernels, {fails} failing)")
    print(f"abiguard core, cached run:              {cached:7.2f} s  (goal < 10 s)")
    if tool_time is not None:
        print(f"bpftool gen min_core_btf x {len(bpftool_kernels)} (raw BTF): {tool_time:7.2f} s  "
              f"({tool_fail} failed; it reports no poisoned relocations)")
        print(f"ratio cached abiguard / bpftool: {cached / tool_time:.2f}")


if __name__ == "__main__":
    main()
