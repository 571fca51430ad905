"""Layouts of the whole Linux UAPI, per arch, against the arch's gcc: abiguard's kernel: reader vs
`_Static_assert`s (sizeof, _Alignof, offsetof of every member, enumerators, constants) and DWARF
bitfields compiled by the cross gcc over the kernel's own `make headers` output.

Every TU abiguard parsed is checked with exactly the headers it included, so headers that cannot
share one TU (the kernel tests each alone) are still all checked. TUs whose headers include libc ones
(<sys/socket.h> ...), which abiguard reads with the ziglang wheel's glibc, are compiled against the
gcc's own target libc (Debian's libc6-dev-<arch>-cross), and counted apart.

    python benchmarks/uapi_accuracy.py [--tree DIR] [--arch ppc64le,riscv64,mips64el]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from gcc_layout_oracle import find_gcc, libc_include_dirs, run_oracle

from abiguard.model import Target
from abiguard.model.target import parse_arch_list
from abiguard.model.types import Kind
from abiguard.sources import SourceOptions
from abiguard.sources.clang.headers import merge_units
from abiguard.sources.kernel import load_kernel

DEFAULT_TREE = Path.home() / ".cache" / "abiguard-tests" / "linux-source-6.1"


@dataclass
class ArchResult:
    arch: str
    compiler: str
    units: int = 0
    records: int = 0  # distinct struct/union names checked
    checks: int = 0
    bitfields: int = 0
    problems: list[str] = field(default_factory=list)
    roots: set[str] = field(default_factory=set)  # headers whose TUs were checked
    libc_units: int = 0  # TUs that read libc headers
    libc_roots: set[str] = field(default_factory=set)
    libc_records: int = 0  # struct/union names of those TUs that no libc-free TU has
    libc_checks: int = 0


def make_headers(tree: Path, karch: str, out: Path) -> Path:
    """The kernel's own `make headers` for ARCH=karch into `out` (O=, the tree is not written)."""
    subprocess.run(["make", "-s", "-C", str(tree), f"O={out}", f"ARCH={karch}", "headers"], check=True,
                   capture_output=True)
    return out / "usr" / "include"


def check_arch(tree: Path, target: Target, real_include: Path, cache_root: Path | None = None) -> ArchResult:
    """Read the tree for `target` with abiguard, then let gcc judge every TU's types."""
    gcc = find_gcc(target)
    if gcc is None:
        raise FileNotFoundError(f"no gcc for {target.name}")
    read = load_kernel(f"kernel:{tree}", [target], SourceOptions(), cache_root=cache_root, keep_units=True)
    assert read.stats.units is not None
    result = ArchResult(target.name, Path(gcc).name)
    libc = libc_include_dirs(gcc)
    records: set[str] = set()
    libc_records: set[str] = set()
    for roots, unit in read.stats.units[target.name]:
        graph = merge_units([unit], target, f"kernel:{tree}")
        names = {graph.describe(i) for i in graph.ids() if graph[i].kind in (Kind.STRUCT, Kind.UNION)}
        prelude = "".join(f"#include <{h}>\n" for h in roots)
        report = run_oracle(graph, prelude, [real_include], gcc=gcc, libc_dirs=libc if unit.libc else ())
        result.units += 1
        result.checks += report.checked
        result.bitfields += report.bitfields_checked
        result.problems += [f"{roots[0]}...: {m}" for m in report.mismatches + report.compile_errors]
        result.roots.update(roots)
        if unit.libc:
            result.libc_units += 1
            result.libc_roots.update(roots)
            result.libc_checks += report.checked
            libc_records |= names
        else:
            records |= names
    result.records = len(records | libc_records)
    result.libc_records = len(libc_records - records)
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", type=Path, default=DEFAULT_TREE)
    ap.add_argument("--arch", default="ppc64le,riscv64,mips64el")
    args = ap.parse_args()
    bad = 0
    with tempfile.TemporaryDirectory(prefix="abiguard-uapi-") as tmp:
        for target in parse_arch_list(args.arch):
            if find_gcc(target) is None:
                print(f"{target.name}: skipped, no cross gcc")
                continue
            start = time.monotonic()
            real = make_headers(args.tree, target.kernel_arch, Path(tmp) / target.name)
            res = check_arch(args.tree, target, real, Path(tmp) / "cache")
            print(f"{res.arch} ({res.compiler}): {res.records} structs/unions in {res.units} TUs, "
                  f"{res.checks} checks + {res.bitfields} bitfields, {len(res.problems)} disagreements "
                  f"[{time.monotonic() - start:.0f} s]; of them with libc headers: {len(res.libc_roots)} "
                  f"headers in {res.libc_units} TUs, {res.libc_records} structs/unions no other TU has, "
                  f"{res.libc_checks} checks")
            for line in res.problems[:20]:
                print("   ", line)
            bad += bool(res.problems)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
