#!/usr/bin/env python3
"""The BTF reader on the kernel's BTF, as whole processes, beside pahole's and bpftool's full dumps.

Measures the lazy path a command takes (`abiguard layout task_struct`: parse, resolve, lay out one
struct) and the full path diff takes (decode and validate every type id), with wall time, CPU time
(user+sys, less sensitive to a busy machine) and peak RSS per process. Issue #2: the layout command
within 4x of `pahole -F btf` dumping everything, under 300 MB.

Usage: .venv/bin/python benchmarks/bench_btf_read.py [--repeat N] [--vmlinux PATH]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
ABIGUARD = ROOT / ".venv" / "bin" / "abiguard"
GOAL_RATIO = 4.0
GOAL_PEAK_MB = 300

LAZY = """
import sys
from abiguard.sources.btf.reader import read_btf_file
g = read_btf_file(sys.argv[1])
tid = g.resolve("struct task_struct")
for m in g[tid].members:
    g.size_of(m.type), g.align_of(m.type), g.c_name(m.type, m.name)
"""
FULL = """
import sys
from abiguard.sources.btf.reader import read_btf
p = read_btf(sys.argv[1])
p.validate_all()
g = p.graph
sum(g.size_of(i) for i in g.ids())
"""


def measure(cmd: list[str]) -> tuple[float, float, float]:
    """(wall s, user+sys CPU s, peak RSS MB) of one run of `cmd`, output discarded."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {err.strip()[-500:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def bench(label: str, cmd: list[str], repeat: int, anchor: tuple[float, float] | None = None) -> tuple[float, float]:
    runs = [measure(cmd) for _ in range(repeat)]
    wall = statistics.median(r[0] for r in runs)
    cpu = statistics.median(r[1] for r in runs)
    peak = max(r[2] for r in runs)
    line = f"{label:<38} wall {wall:6.3f} s  cpu {cpu:6.3f} s  peak {peak:5.0f} MB"
    if anchor is not None:
        line += f"  ratio wall {wall / anchor[0]:4.2f}x cpu {cpu / anchor[1]:4.2f}x"
    print(line, flush=True)
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--vmlinux", default="/sys/kernel/btf/vmlinux")
    args = parser.parse_args(argv)
    vmlinux = Path(args.vmlinux)
    if not vmlinux.exists():
        print(f"{vmlinux} is missing: nothing to measure", file=sys.stderr)
        return 0
    pahole, bpftool = shutil.which("pahole"), shutil.which("bpftool")
    if pahole is None:
        print("pahole is not installed (scripts/setup.sh)", file=sys.stderr)
        return 1
    print(f"{vmlinux}: {vmlinux.stat().st_size / 1e6:.1f} MB, median of {args.repeat} runs each")
    anchor = bench("pahole -F btf (full dump)", [pahole, "-F", "btf", str(vmlinux)], args.repeat)
    if bpftool is not None:
        bench(
            "bpftool btf dump format raw",
            [bpftool, "btf", "dump", "file", str(vmlinux), "format", "raw"],
            args.repeat,
            anchor,
        )
    bench("python start-up (python -c pass)", [str(PYTHON), "-c", "pass"], args.repeat, anchor)
    bench("API: parse + task_struct members", [str(PYTHON), "-c", LAZY, str(vmlinux)], args.repeat, anchor)
    if ABIGUARD.exists():
        bench(
            "abiguard layout task_struct", [str(ABIGUARD), "layout", "task_struct", str(vmlinux)], args.repeat, anchor
        )
    bench("API: decode + validate every id", [str(PYTHON), "-c", FULL, str(vmlinux)], max(3, args.repeat // 2), anchor)
    print(f"goal: layout within {GOAL_RATIO}x of pahole's full dump, peak under {GOAL_PEAK_MB} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
