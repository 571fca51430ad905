#!/usr/bin/env python3
"""Header reader speed: `read_headers` on a directory of ~50 headers for all 15 arches.

The anchor is the compiler front end alone: `clang -target T -fsyntax-only` on one TU that includes
every header, once per arch (what any libclang/clang based tool must at least pay), run with the
same parallelism as abiguard (one process per core). abiguard does more per arch -- types,
layouts, and a second parse that evaluates every integer #define -- so the ratio says what that
extra work costs.

Usage: .venv/bin/python benchmarks/bench_headers.py [DIR] [--arch LIST] [--repeat N]
Without DIR, 50 headers are generated from the test suite's layout headers (10 renamed copies).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from headers.layout_headers import HEADERS  # noqa: E402

from abiguard.model.target import parse_arch_list  # noqa: E402
from abiguard.sources import SourceOptions  # noqa: E402
from abiguard.sources.clang.headers import collect_headers, read_headers  # noqa: E402


def generate(root: Path, copies: int = 10) -> Path:
    """`copies` renamed copies of the layout headers (5 each), so no two define the same name."""
    for n in range(copies):
        for name, text in HEADERS.items():
            if name == "abg/builtins.h":
                continue
            renamed = re.sub(r"\b(abg|ABG)", lambda m, n=n: f"{m[1]}{n}", text)
            path = root / re.sub(r"abg", f"abg{n}", name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(renamed)
    return root


def time_abiguard(src: Path, arches: str) -> float:
    t0 = time.perf_counter()
    graphs = read_headers([src], parse_arch_list(arches), SourceOptions())
    elapsed = time.perf_counter() - t0
    assert all(not g.diagnostics for g in graphs), [d for g in graphs for d in g.diagnostics][:3]
    return elapsed


def time_clang(src: Path, arches: str, clang: str) -> float:
    hs = collect_headers([src], SourceOptions())
    main = src / "__bench_all__.c"
    main.write_text("".join(f'#include "{h}"\n' for h in hs.headers))
    builtin = ROOT / "src" / "abiguard" / "data" / "include"

    def one(triple: str) -> None:
        cmd = [clang, "-target", triple, "-std=gnu11", "-nostdinc", "-isystem", str(builtin), "-I", str(src),
               "-fsyntax-only", "-w", str(main)]
        subprocess.run(cmd, check=True, capture_output=True)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(one, [t.triple for t in parse_arch_list(arches)]))
    elapsed = time.perf_counter() - t0
    main.unlink()
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", nargs="?", type=Path)
    ap.add_argument("--arch", default="all")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    clang = shutil.which("clang")
    with tempfile.TemporaryDirectory(prefix="bench-headers-") as tmp:
        src = args.dir or generate(Path(tmp))
        count = len(collect_headers([src], SourceOptions()).headers)
        ours = [time_abiguard(src, args.arch) for _ in range(args.repeat)]
        print(f"{count} headers, arches {args.arch}, {os.cpu_count()} cores")
        print(f"abiguard read_headers: median {statistics.median(ours):.2f}s  (runs: "
              + ", ".join(f"{t:.2f}" for t in ours) + ")")
        if clang is None:
            print("clang not installed: no anchor")
            return 0
        # clang 14 (Debian) lacks loongarch64; time the anchor on the arches it knows.
        known = [t.name for t in parse_arch_list(args.arch) if t.name != "loongarch64"]
        theirs = [time_clang(src, ",".join(known), clang) for _ in range(args.repeat)]
        print(f"clang -fsyntax-only ({len(known)} arches): median {statistics.median(theirs):.2f}s")
        per_ours = statistics.median(ours) / len(parse_arch_list(args.arch))
        per_theirs = statistics.median(theirs) / len(known)
        print(f"per arch: abiguard {per_ours:.3f}s, clang {per_theirs:.3f}s, ratio {per_ours / per_theirs:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
