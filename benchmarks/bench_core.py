#!/usr/bin/env python3
"""`abiguard core` per kernel on real Debian kernels as shipped, beside `bpftool gen min_core_btf`.

Kernels: the linux-image-*.deb packages scripts/kernels.sh caches (or --packages DIR), plus
/sys/kernel/btf/vmlinux when present. Each package's vmlinux BTF is extracted once, outside the timing;
both tools then read the same raw BTF files. Per kernel, the median of --repeat runs of:
  bpftool    `bpftool gen min_core_btf KERNEL OUT OBJ` (libbpf's relocation code; a process per kernel)
  cold       abiguard in-process: read + hash the kernel, parse, resolve every relocation, no cache
  known      the same on a kernel seen before (its content index cached) with a new object (no result
             cache): the case of a developer re-checking a rebuilt program against a fleet
Then the whole CLI over all kernels (`abiguard core OBJ --kernel ...`, first and cached run) beside the
bpftool loop. Usage: .venv/bin/python benchmarks/bench_core.py [--packages DIR] [--repeat N] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ABIGUARD = ROOT / ".venv" / "bin" / "abiguard"
VMLINUX = Path("/sys/kernel/btf/vmlinux")
PACKAGES = Path(os.environ.get("ABIGUARD_TEST_CACHE") or Path.home() / ".cache" / "abiguard-tests") / "kernels"

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


def extract(packages: list[Path], workdir: Path) -> list[tuple[str, Path]]:
    """(release, raw vmlinux BTF file) per package, extracted with abiguard's reader (reused when present)."""
    from abiguard.sources.shipped import read_shipped
    from abiguard.sources.shipped.ident import from_deb_name

    out = []
    for package in packages:
        release = from_deb_name(package.name).release or package.stem
        raw = workdir / "btf" / f"{release}.btf"
        if not raw.exists():
            raw.parent.mkdir(parents=True, exist_ok=True)
            raw.write_bytes(read_shipped(package, package.read_bytes()).btf)
        out.append((release, raw))
    return out


def compile_prog(workdir: Path) -> Path:
    clang = shutil.which("clang")
    if not clang:
        sys.exit("bench_core: clang is needed (run scripts/setup.sh)")
    src, obj = workdir / "prog.bpf.c", workdir / "prog.bpf.o"
    src.write_text(PROG)
    subprocess.run([clang, "-target", "bpf", "-g", "-O2", "-c", str(src), "-o", str(obj)], check=True)
    return obj


def bpftool_ms(bpftool: str, kernel: Path, obj: Path, out: Path) -> float:
    start = time.perf_counter()
    subprocess.run([bpftool, "gen", "min_core_btf", str(kernel), str(out), str(obj)], capture_output=True, check=True)
    return (time.perf_counter() - start) * 1000


def abiguard_ms(kernel: Path, obj: Path, cache_dir: Path | None) -> float:
    """One object on one kernel in-process: read, hash, parse, resolve (no result cache), store the index."""
    from abiguard.bpf.cache import Cache
    from abiguard.bpf.check import resolve_object
    from abiguard.bpf.kernels import load_kernels
    from abiguard.bpf.objfile import read_object

    program = read_object(obj)
    cache = Cache(enabled=cache_dir is not None, directory=cache_dir)
    start = time.perf_counter()
    (ref,) = load_kernels([str(kernel)], None, cache)
    verdict = resolve_object(program, ref)
    ref.unload()
    elapsed = (time.perf_counter() - start) * 1000
    if not verdict.results:
        sys.exit(f"bench_core: no relocation resolved on {kernel}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packages", type=Path, default=PACKAGES, help="directory of linux-image-*.deb")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "abiguard-bench-core")
    args = ap.parse_args()
    bpftool = shutil.which("bpftool")
    if not bpftool:
        sys.exit("bench_core: bpftool is needed (run scripts/setup.sh)")
    packages = sorted(args.packages.glob("linux-image-*.deb"))
    if not packages:
        sys.exit(f"bench_core: no kernel packages in {args.packages} (run scripts/kernels.sh)")
    args.workdir.mkdir(parents=True, exist_ok=True)
    obj = compile_prog(args.workdir)
    kernels = extract(packages, args.workdir)
    if VMLINUX.exists():
        kernels.append((f"{os.uname().release} (running)", VMLINUX))
    index_cache = args.workdir / "index-cache"
    shutil.rmtree(index_cache, ignore_errors=True)
    abiguard_ms(kernels[0][1], obj, None)  # imports and first-touch costs outside the timing

    print(f"object: {obj}; {args.repeat} runs per cell, median ms")
    print(f"{'kernel':38} {'BTF MB':>6} {'bpftool':>8} {'cold':>8} {'known':>8} {'cold/bt':>8} {'known/bt':>9}")
    totals = [0.0, 0.0, 0.0]
    for release, raw in kernels:
        out = args.workdir / "min.btf"
        tool = statistics.median(bpftool_ms(bpftool, raw, obj, out) for _ in range(args.repeat))
        cold = statistics.median(abiguard_ms(raw, obj, None) for _ in range(args.repeat))
        abiguard_ms(raw, obj, index_cache)  # first sight of this kernel fills its index
        known = statistics.median(abiguard_ms(raw, obj, index_cache) for _ in range(args.repeat))
        for i, v in enumerate((tool, cold, known)):
            totals[i] += v
        size = raw.stat().st_size / 1e6
        print(f"{release:38} {size:6.1f} {tool:8.1f} {cold:8.1f} {known:8.1f} {cold / tool:8.2f} {known / tool:9.2f}")
    n = len(kernels)
    tool, cold, known = (t / n for t in totals)
    print(f"{'mean per kernel':38} {'':6} {tool:8.1f} {cold:8.1f} {known:8.1f} {cold / tool:8.2f} {known / tool:9.2f}")

    # As installed: bytecode cached (PYTHONDONTWRITEBYTECODE would compile every module on every run).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["XDG_CACHE_HOME"] = str(args.workdir / "cli-cache")
    subprocess.run([str(ABIGUARD), "--help"], capture_output=True, env=env)  # writes the bytecode
    shutil.rmtree(args.workdir / "cli-cache", ignore_errors=True)
    cmd = [str(ABIGUARD), "core", str(obj), *(a for _, raw in kernels for a in ("--kernel", str(raw)))]
    runs = []
    for _ in range(2):
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        runs.append(time.perf_counter() - start)
        if proc.returncode not in (0, 1):
            sys.exit(f"bench_core: abiguard failed: {proc.stderr}")
    start = time.perf_counter()
    for _, raw in kernels:
        subprocess.run([bpftool, "gen", "min_core_btf", str(raw), str(args.workdir / "min.btf"), str(obj)],
                       capture_output=True, check=True)
    loop = time.perf_counter() - start
    print(f"whole CLI, {n} kernels: abiguard first run {runs[0]:.2f} s, cached {runs[1]:.2f} s "
          f"(Python start-up included); bpftool loop {loop:.2f} s; ratio first/bpftool {runs[0] / loop:.2f}")


if __name__ == "__main__":
    main()
