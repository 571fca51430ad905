#!/usr/bin/env python3
"""`abiguard layout task_struct` and `abiguard users pt_regs` on the kernel's BTF, as whole processes,
beside `pahole -F btf` dumping every type of the same file (issue #2: within 4x, peak under 300 MB).

Usage: .venv/bin/python benchmarks/bench_layout.py [--repeat N] [--vmlinux PATH]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ABIGUARD = ROOT / ".venv" / "bin" / "abiguard"
GOAL_RATIO = 4.0
GOAL_PEAK_MB = 300


def run(cmd: list[str]) -> float:
    """Wall seconds of one run of `cmd`, output discarded."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.strip()[-500:]}")
    return elapsed


def peak_mb(cmd: list[str]) -> float:
    """Peak RSS of one run, via GNU time (exact per process), else -1."""
    gnu_time = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    if gnu_time is None:
        return -1.0
    proc = subprocess.run([gnu_time, "-f", "%M", *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True)
    return int(proc.stderr.strip().splitlines()[-1]) / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--vmlinux", default="/sys/kernel/btf/vmlinux")
    args = parser.parse_args(argv)
    vmlinux = Path(args.vmlinux)
    if not vmlinux.exists():
        print(f"{vmlinux} is missing: nothing to measure", file=sys.stderr)
        return 0
    pahole = shutil.which("pahole")
    if pahole is None:
        print("pahole is not installed (scripts/setup.sh)", file=sys.stderr)
        return 1
    anchor_cmd = [pahole, "-F", "btf", str(vmlinux)]
    ours = {
        "layout task_struct": [str(ABIGUARD), "layout", "task_struct", str(vmlinux)],
        "layout --format json task_struct": [str(ABIGUARD), "layout", "--format", "json", "task_struct",
                                             str(vmlinux)],
        "users pt_regs": [str(ABIGUARD), "users", "pt_regs", str(vmlinux)],
    }
    anchor = statistics.median(run(anchor_cmd) for _ in range(args.repeat))
    print(f"pahole -F btf (full dump):       median {anchor:.3f} s, peak {peak_mb(anchor_cmd):.0f} MB")
    for label, cmd in ours.items():
        median = statistics.median(run(cmd) for _ in range(args.repeat))
        peak = peak_mb(cmd)
        ratio = median / anchor
        print(f"abiguard {label:<24} median {median:.3f} s, peak {peak:.0f} MB, ratio {ratio:.2f}x "
              f"(goal <= {GOAL_RATIO}x, < {GOAL_PEAK_MB} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
