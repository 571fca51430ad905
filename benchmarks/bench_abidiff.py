#!/usr/bin/env python3
"""abidiff (the check-uapi.sh route) beside `abiguard diff`: verdicts and wall time, case by case.

The kernel's scripts/check-uapi.sh compiles each header with `-g -fno-eliminate-unused-debug-types`
per arch and runs `abidiff --non-reachable-types` on the two objects; additions only pass. We do the
same with Debian's cross compilers, then run `abiguard diff OLD NEW --arch <same arches> --format json`
as a whole process, and print both verdicts and both times side by side.

Usage: .venv/bin/python benchmarks/bench_abidiff.py [--arch LIST] [--repeat N] [--case NAME]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ABIGUARD = ROOT / ".venv" / "bin" / "abiguard"
EXAMPLE = ROOT / "examples" / "user_pt_regs-2022"

TYPES_H = """#ifndef _BENCH_TYPES_H
#define _BENCH_TYPES_H
typedef unsigned int __u32;
typedef int __s32;
typedef unsigned long long __u64;
typedef long long __s64;
#endif
"""


@dataclass(frozen=True)
class Case:
    """Two header trees (path -> text) and what the rules say the verdict should be."""

    name: str
    expected: str
    before: dict[str, str] = field(default_factory=dict)
    after: dict[str, str] = field(default_factory=dict)
    tree: Path | None = None  # an on-disk pair tree/before, tree/after instead of texts


def _pair(name: str, expected: str, before: str, after: str) -> Case:
    return Case(name, expected, {"bench/types.h": TYPES_H, "bench/api.h": before},
                {"bench/types.h": TYPES_H, "bench/api.h": after})


_INC = '#include <bench/types.h>\n'

CASES: tuple[Case, ...] = (
    Case("user_pt_regs 2022", "breaking on s390x, aarch64 only", tree=EXAMPLE),
    _pair(
        "extensible struct grows (clone_args)", "compatible",
        _INC + "#define CLONE_ARGS_SIZE_VER0 64\nstruct clone_args {\n __u64 flags; __u64 pidfd; __u64 child_tid;\n"
        " __u64 parent_tid; __u64 exit_signal; __u64 stack; __u64 stack_size; __u64 tls;\n};\n",
        _INC + "#define CLONE_ARGS_SIZE_VER0 64\n#define CLONE_ARGS_SIZE_VER1 80\nstruct clone_args {\n"
        " __u64 flags; __u64 pidfd; __u64 child_tid;\n __u64 parent_tid; __u64 exit_signal; __u64 stack;\n"
        " __u64 stack_size; __u64 tls; __u64 set_tid; __u64 set_tid_size;\n};\n",
    ),
    _pair(
        "enumerator added before __MAX sentinel", "compatible",
        _INC + "enum bpf_map_type {\n BPF_MAP_TYPE_UNSPEC, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_ARRAY,\n"
        " __MAX_BPF_MAP_TYPE\n};\n",
        _INC + "enum bpf_map_type {\n BPF_MAP_TYPE_UNSPEC, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_ARRAY,\n"
        " BPF_MAP_TYPE_RINGBUF,\n __MAX_BPF_MAP_TYPE\n};\n",
    ),
    _pair(
        "long -> __s64 (sysinfo)", "breaking on 32-bit arches only, api elsewhere",
        _INC + "struct sysinfo {\n long uptime;\n unsigned long loads[3];\n unsigned long totalram;\n"
        " __u32 mem_unit;\n};\n",
        _INC + "struct sysinfo {\n __s64 uptime;\n unsigned long loads[3];\n unsigned long totalram;\n"
        " __u32 mem_unit;\n};\n",
    ),
    _pair(
        "#define value changed", "breaking",
        _INC + "#define FIEMAP_MAX_OFFSET 0x10\n#define FIEMAP_FLAG_SYNC 0x00000001\n"
        "struct fiemap { __u64 fm_start; __u64 fm_length; __u32 fm_flags; };\n",
        _INC + "#define FIEMAP_MAX_OFFSET 0x10\n#define FIEMAP_FLAG_SYNC 0x00000002\n"
        "struct fiemap { __u64 fm_start; __u64 fm_length; __u32 fm_flags; };\n",
    ),
    _pair(
        "reserved field taken", "compatible",
        _INC + "struct io_params {\n __u32 flags;\n __u32 resv[3];\n __u64 addr;\n};\n",
        _INC + "struct io_params {\n __u32 flags;\n __u32 sq_thread_cpu;\n __u32 resv[2];\n __u64 addr;\n};\n",
    ),
    _pair(
        "pointer-only struct grows", "review",
        _INC + "struct regs { __u64 pc; __u64 sp; };\nstruct ctx { __u64 len; struct regs *regs; };\n",
        _INC + "struct regs { __u64 pc; __u64 sp; __u64 orig; };\nstruct ctx { __u64 len; struct regs *regs; };\n",
    ),
)


def _write_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _gcc_for(arch: str) -> str | None:
    from abiguard.model.target import get_target

    prefix = get_target(arch).gcc_prefix
    return shutil.which(f"{prefix}-gcc") if prefix else None


@dataclass
class AbidiffRun:
    """abidiff's view of one case on one arch."""

    verdict: str  # identical | additions | changed | incompatible | error
    seconds: float
    abidiff_seconds: float
    rc_bits: int


def _compile(gcc: str, inc: Path, header: str, out: Path) -> str | None:
    # Flags as in the kernel's scripts/check-uapi.sh (do_compile).
    cmd = [gcc, "-c", "-o", str(out), "-x", "c", "-O0", "-std=c90", "-fno-eliminate-unused-debug-types", "-g",
           f"-I{inc}", "-include", header, "-"]
    proc = subprocess.run(cmd, input="int main(void) { return 0; }\n", capture_output=True, text=True)
    return None if proc.returncode == 0 else proc.stderr.strip().splitlines()[-1]


_SUMMARY = re.compile(r"Unreachable types summary: (\d+) removed.*?, (\d+) changed")


def run_abidiff(case_dirs: tuple[Path, Path], arch: str, gcc: str, work: Path) -> AbidiffRun:
    """Compile every header of OLD (check-uapi loops over the old tree's headers) and diff the objects."""
    old, new = case_dirs
    worst, bits = "identical", 0
    rank = ["identical", "additions", "changed", "incompatible", "error"]
    start = time.perf_counter()
    abidiff_time = 0.0
    for header in sorted(p.relative_to(old).as_posix() for p in old.rglob("*.h")):
        objs = []
        for side, tree in (("old", old), ("new", new)):
            obj = work / f"{arch}-{side}-{header.replace('/', '_')}.o"
            if not (tree / header).exists() or _compile(gcc, tree, header, obj) is not None:
                return AbidiffRun("error", time.perf_counter() - start, abidiff_time, 1)
            objs.append(obj)
        t0 = time.perf_counter()
        proc = subprocess.run(["abidiff", "--non-reachable-types", str(objs[0]), str(objs[1])],
                              capture_output=True, text=True)
        abidiff_time += time.perf_counter() - t0
        rc = proc.returncode
        bits |= rc
        if rc == 0:
            verdict = "identical"
        elif rc & 3:
            verdict = "error"
        else:
            m = _SUMMARY.search(proc.stdout)
            only_added = m is not None and m.group(1) == "0" and m.group(2) == "0"
            verdict = "additions" if only_added else "incompatible" if rc & 8 else "changed"
        worst = max(worst, verdict, key=rank.index)
    return AbidiffRun(worst, time.perf_counter() - start, abidiff_time, bits)


@dataclass
class AbiguardRun:
    verdict: str
    by_arch: dict[str, str]
    seconds: float
    rc: int


def run_abiguard(case_dirs: tuple[Path, Path], arches: Sequence[str], repeat: int) -> AbiguardRun:
    """`abiguard diff` as a whole process (cold: --no-cache), median wall time of `repeat` runs."""
    cmd = [str(ABIGUARD), "diff", str(case_dirs[0]), str(case_dirs[1]), "--arch", ",".join(arches),
           "--format", "json", "--no-cache"]
    times, proc = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
    assert proc is not None
    if proc.returncode == 2:
        return AbiguardRun("error: " + (proc.stderr.strip().splitlines() or ["?"])[-1], {}, min(times), 2)
    data = json.loads(proc.stdout)
    by_arch: dict[str, str] = {}
    order = ["identical", "compatible", "api", "review", "breaking"]
    for f in data["findings"]:
        if "waived" not in f:
            by_arch[f["arch"]] = max(by_arch.get(f["arch"], "identical"), f["severity"], key=order.index)
    return AbiguardRun(data["verdict"], by_arch, statistics.median(times), proc.returncode)


def _arch_summary(by_arch: dict[str, str], arches: Sequence[str]) -> str:
    groups: dict[str, list[str]] = {}
    for arch in arches:
        groups.setdefault(by_arch.get(arch, "identical"), []).append(arch)
    if len(groups) == 1:
        return f"{next(iter(groups))} on all"
    return "; ".join(f"{v}: {','.join(a)}" for v, a in groups.items() if v != "identical") or "identical"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="", help="comma list (default: every arch with a Debian cross gcc)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--case", default="", help="run only cases whose name contains this")
    args = ap.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]  # progress shows when piped
    if shutil.which("abidiff") is None:
        print("abidiff not found (Debian abigail-tools; run scripts/setup.sh)", file=sys.stderr)
        return 2
    if not ABIGUARD.exists():
        print(f"{ABIGUARD} missing (run scripts/setup.sh)", file=sys.stderr)
        return 2
    sys.path.insert(0, str(ROOT / "src"))
    from abiguard.model.target import ALL_ARCHES

    wanted = [a for a in args.arch.split(",") if a] or list(ALL_ARCHES)
    gccs = {a: g for a in wanted if (g := _gcc_for(a))}
    arches = list(gccs)
    print(f"arches (with a cross gcc): {', '.join(arches)}")
    print(f"abidiff {subprocess.run(['abidiff', '--version'], capture_output=True, text=True).stdout.strip()}; "
          "route: gcc -g -fno-eliminate-unused-debug-types per header per arch + abidiff --non-reachable-types")
    print()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-abidiff-") as tmp:
        for i, case in enumerate(c for c in CASES if args.case in c.name):
            if case.tree is not None:
                dirs = (case.tree / "before", case.tree / "after")
            else:
                base = Path(tmp) / f"case{i}"
                dirs = (_write_tree(base / "before", case.before), _write_tree(base / "after", case.after))
            work = Path(tmp) / f"obj{i}"
            work.mkdir()
            ab = {a: run_abidiff(dirs, a, gccs[a], work) for a in arches}
            ours = run_abiguard(dirs, arches, args.repeat)
            ab_verdicts = {a: r.verdict for a, r in ab.items()}
            # check-uapi.sh fails a header unless abidiff saw nothing or only additions.
            flagged = [a for a, v in ab_verdicts.items() if v not in ("identical", "additions")]
            ab_time = sum(r.seconds for r in ab.values())
            ab_only = sum(r.abidiff_seconds for r in ab.values())
            rows.append((case, ab_verdicts, flagged, ab_time, ab_only, ours))
    width = max(len(c.name) for c, *_ in rows)
    for case, ab_verdicts, flagged, ab_time, ab_only, ours in rows:
        print(f"{case.name:<{width}}  expected: {case.expected}")
        print(f"{'':<{width}}  abidiff : check-uapi {'FAIL' if flagged else 'pass'}"
              f" ({_arch_summary(ab_verdicts, arches)}); {ab_time:.2f} s route, {ab_only:.2f} s in abidiff")
        print(f"{'':<{width}}  abiguard: {ours.verdict} (exit {ours.rc}; {_arch_summary(ours.by_arch, arches)});"
              f" {ours.seconds:.2f} s  [ratio abidiff-route/abiguard {ab_time / ours.seconds:.1f}x]")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
