#!/usr/bin/env python3
"""`abiguard layout task_struct` and `abiguard users pt_regs` on the kernel's BTF, as whole processes,
beside `pahole -F btf` dumping every type of the same file (issue #2: within 4x, peak under 300 MB).

abiguard runs as installed: its bytecode cached (PYTHONDONTWRITEBYTECODE dropped) and its cache in a
temp dir, filled by one warm-up run, so the rows are a kernel read before; the `--no-cache` row is a
kernel seen for the first time (record scan and whole-file link check included).

Usage: .venv/bin/python benchmarks/bench_layout.py [--repeat N] [--vmlinux PATH]
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
GOAL_RATIO = 4.0
GOAL_PEAK_MB = 300


def run(cmd: list[str], env: dict[str, str] | None = None) -> float:
    """Wall seconds of one run of `cmd`, output discarded."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.strip()[-500:]}")
    return elapsed


def peak_mb(cmd: list[str], env: dict[str, str] | None = None) -> float:
    """Peak RSS of one run, via GNU time (exact per process), else -1."""
    gnu_time = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    if gnu_time is None:
        return -1.0
    proc = subprocess.run([gnu_time, "-f", "%M", *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True, env=env)
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
        "layout task_struct --no-cache": [str(ABIGUARD), "layout", "task_struct", str(vmlinux), "--no-cache"],
    }
    cache = Path(tempfile.mkdtemp(prefix="abiguard-bench-layout-"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {"XDG_CACHE_HOME": str(cache)}
    anchor = statistics.median(run(anchor_cmd) for _ in range(args.repeat))
    print(f"pahole -F btf (full dump):               median {anchor:.3f} s, peak {peak_mb(anchor_cmd):.0f} MB")
    try:
        for label, cmd in ours.items():
            run(cmd, env)  # warm-up: bytecode and the kernel's parse memo
            median = statistics.median(run(cmd, env) for _ in range(args.repeat))
            peak = peak_mb(cmd, env)
            ratio = median / anchor
            print(f"abiguard {label:<32} median {median:.3f} s, peak {peak:.0f} MB, ratio {ratio:.2f}x "
                  f"(goal <= {GOAL_RATIO}x, < {GOAL_PEAK_MB} MB)")
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
