#!/usr/bin/env python3
"""The whole Linux 6.1 UAPI through `kernel:TREE`, beside the kernel's own route (check-uapi.sh).

abiguard: `abiguard layout bpf_perf_event_data kernel:TREE --arch A` as a whole process, which reads
and parses every UAPI header for A: cold (fresh $XDG_CACHE_HOME) and warm (same cache again), then
all 15 arches cold. Kernel route, for one arch: `make headers` (headers_install without the final
copy), then every header compiled alone with the flags of scripts/check-uapi.sh (`-g
-fno-eliminate-unused-debug-types`) and `abidw` on each object, both run on all cores.

Usage: .venv/bin/python benchmarks/bench_kernel_uapi.py [--tree DIR] [--arch x86_64] [--no-kernel-route]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ABIGUARD = ROOT / ".venv" / "bin" / "abiguard"
DEFAULT_TREE = Path.home() / ".cache" / "abiguard-tests" / "linux-source-6.1"


def _cpu() -> float:
    """CPU seconds (user + system) of every finished child process and its descendants."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_abiguard(tree: Path, arches: str, xdg: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one `abiguard layout` over the kernel tree with this cache home."""
    env = {**os.environ, "XDG_CACHE_HOME": str(xdg)}
    cpu = _cpu()
    start = time.perf_counter()
    proc = subprocess.run([str(ABIGUARD), "layout", "bpf_perf_event_data", f"kernel:{tree}", "--arch", arches],
                          env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"abiguard failed: {proc.stderr[-2000:]}")
    return seconds, _cpu() - cpu


def run_kernel_route(tree: Path, karch: str, gcc: str, work: Path, jobs: int) -> tuple[float, float, float, int]:
    """(make headers, compile, abidw) seconds and the number of headers, as check-uapi.sh does them."""
    sys.path.insert(0, str(ROOT / "src"))
    from abiguard.sources.kernel.install import install_headers
    from abiguard.sources.kernel.tree import COMMON_PATHS, arch_paths, read_tree

    cpu = _cpu()
    start = time.perf_counter()
    subprocess.run(["make", "-s", "-C", str(tree), f"O={work / 'obj'}", f"ARCH={karch}", "headers"], check=True,
                   capture_output=True)
    t_make = time.perf_counter() - start
    inc = work / "obj" / "usr" / "include"
    # check-uapi.sh skips asm-generic/ and usr/include/Makefile's no-header-test list.
    no_test = install_headers(read_tree(tree, None, [*COMMON_PATHS, *arch_paths(karch)]).files, karch).no_test
    headers = sorted(p.relative_to(inc).as_posix() for p in inc.rglob("*.h"))
    headers = [h for h in headers if h not in no_test]
    out = work / "abi"
    out.mkdir()

    def compile_one(h: str) -> Path | None:
        obj = out / (h.replace("/", "__") + ".o")
        cmd = [gcc, "-c", "-o", str(obj), "-x", "c", "-O0", "-std=c90", "-fno-eliminate-unused-debug-types",
               "-g", f"-I{inc}", "-include", h, "-"]
        ok = subprocess.run(cmd, input=b"int main(void) { return 0; }\n", capture_output=True).returncode == 0
        return obj if ok else None

    def abidw_one(obj: Path) -> None:
        subprocess.run(["abidw", "--out-file", str(obj.with_suffix(".abi")), str(obj)], capture_output=True)

    start = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        objs = [o for o in pool.map(compile_one, headers) if o is not None]
    t_compile = time.perf_counter() - start
    start = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(abidw_one, objs))
    t_abidw = time.perf_counter() - start
    print(f"  (kernel route CPU {_cpu() - cpu:.1f} s)")
    return t_make, t_compile, t_abidw, len(objs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", type=Path, default=DEFAULT_TREE)
    ap.add_argument("--arch", default="x86_64")
    ap.add_argument("--no-kernel-route", action="store_true")
    ap.add_argument("--no-all", action="store_true", help="skip the 15-arch cold run")
    args = ap.parse_args()
    if not (args.tree / "include" / "uapi").is_dir():
        sys.exit(f"{args.tree}: no kernel tree (run the test suite once to unpack linux-source-6.1)")
    sys.path.insert(0, str(ROOT / "src"))
    from abiguard.model.target import get_target

    target = get_target(args.arch)
    jobs = os.cpu_count() or 1
    print(f"Linux 6.1 UAPI, {jobs} cores, arch {target.name} (kernel ARCH={target.kernel_arch})")
    with tempfile.TemporaryDirectory(prefix="abiguard-bench-") as tmp:
        work = Path(tmp)
        # CPU seconds are printed too: on a shared machine wall time also measures the neighbours.
        cold, cold_cpu = run_abiguard(args.tree, target.name, work / "xdg-one")
        warm, warm_cpu = run_abiguard(args.tree, target.name, work / "xdg-one")
        print(f"  abiguard cold, 1 arch:      {cold:7.2f} s   (CPU {cold_cpu:.1f} s; goal <= 20 s)")
        print(f"  abiguard warm, 1 arch:      {warm:7.2f} s   (CPU {warm_cpu:.1f} s; goal <= 2 s)")
        everything = None
        if not args.no_all:
            everything, all_cpu = run_abiguard(args.tree, "all", work / "xdg-all")
            print(f"  abiguard cold, 15 arches:   {everything:7.2f} s   (CPU {all_cpu:.1f} s)")
        if args.no_kernel_route:
            return 0
        gcc = shutil.which(f"{target.gcc_prefix}-gcc") or ("gcc" if target.name == "x86_64" else None)
        if gcc is None or shutil.which("abidw") is None:
            print("  kernel route: skipped (no gcc for the arch or no abidw)")
            return 0
        t_make, t_compile, t_abidw, n = run_kernel_route(args.tree, target.kernel_arch, gcc, work, jobs)
        kernel = t_make + t_compile + t_abidw
        print(f"  kernel route, 1 arch:       {kernel:7.2f} s   (make headers {t_make:.1f} s, gcc -g on {n} "
              f"headers {t_compile:.1f} s, abidw {t_abidw:.1f} s)")
        print(f"  ratio kernel route / abiguard cold: {kernel / cold:6.1f}x")
        print(f"  ratio kernel route / abiguard warm: {kernel / warm:6.1f}x")
        if everything is not None:
            print(f"  ratio kernel route (1 arch) / abiguard cold (15 arches): {kernel / everything:6.2f}x "
                  f"(goal > 1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
