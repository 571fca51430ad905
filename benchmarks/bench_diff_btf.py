#!/usr/bin/env python3
"""`abiguard diff` on whole-kernel BTFs, timed as whole processes, beside abidiff on the same types.

This machine has one real kernel BTF (/sys/kernel/btf/vmlinux) and no DWARF vmlinux, so the second
BTF is produced from it: bpftool dumps vmlinux as C, gcc -g compiles that (once as is, once with
kernel-style edits applied), and pahole --btf_encode_detached turns each object's DWARF back into BTF.
Those two BTFs carry every named vmlinux type (no functions: the C dump has none). abidiff cannot read
BTF here (Debian's build lacks it), so its anchor is the DWARF of the same two objects.

Usage: .venv/bin/python benchmarks/bench_diff_btf.py [--repeat N] [--vmlinux PATH]
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
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ABIGUARD = ROOT / ".venv" / "bin" / "abiguard"
GOAL_SECONDS = 5.0


def _struct_span(text: str, name: str) -> tuple[int, int]:
    """Start and end (index of the closing `};`) of the first `struct NAME {` definition in a C dump."""
    m = re.search(rf"^struct {re.escape(name)} {{\n", text, re.M)
    if m is None:
        raise SystemExit(f"struct {name} not found in the vmlinux C dump")
    end = text.index("\n};\n", m.end())
    return m.start(), end


def _append_member(name: str, member: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        _, end = _struct_span(text, name)
        return text[:end] + f"\n\t{member};" + text[end:]

    return edit


def _add_enumerator(sentinel: str, new: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        if f"\t{sentinel} =" not in text and f"\t{sentinel}," not in text:
            raise SystemExit(f"enumerator {sentinel} not found in the vmlinux C dump")
        return re.sub(rf"^\t{re.escape(sentinel)}( = \d+)?,", f"\t{new},\n\t{sentinel},", text, count=1, flags=re.M)

    return edit


# Kernel-style changes: a struct embedded by value in others grows (the 2022 pattern, on x86's
# pt_regs), an enumerator is added before its __MAX sentinel, and an extensible struct grows.
EDITS: tuple[tuple[str, Callable[[str], str]], ...] = (
    ("struct pt_regs += unsigned long orig_extra", _append_member("pt_regs", "unsigned long orig_extra")),
    ("enum bpf_map_type += BPF_MAP_TYPE_BENCH", _add_enumerator("__MAX_BPF_MAP_TYPE", "BPF_MAP_TYPE_BENCH")),
    ("struct clone_args += __u64 bench", _append_member("clone_args", "__u64 bench")),
)


def _run(cmd: Sequence[str], timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout)


def _build_btf(c_text: str, work: Path, name: str) -> tuple[Path, Path]:
    """C dump -> gcc -g object -> pahole detached BTF; returns (btf, object)."""
    src = work / f"{name}.c"
    obj = work / f"{name}.o"
    btf = work / f"{name}.btf"
    # abidiff refuses an object without ELF symbols; one function gives it one (on both sides alike).
    src.write_text(c_text + "\nint bench_anchor(void) { return 0; }\n")
    proc = _run(["gcc", "-g", "-O0", "-fno-eliminate-unused-debug-types", "-c", str(src), "-o", str(obj)])
    if proc.returncode != 0:
        raise SystemExit(f"gcc failed on the vmlinux C dump:\n{proc.stderr[-2000:]}")
    proc = _run(["pahole", f"--btf_encode_detached={btf}", str(obj)])
    if proc.returncode != 0 or not btf.exists():
        raise SystemExit(f"pahole failed:\n{proc.stderr[-2000:]}")
    return btf, obj


def _measure(cmd: Sequence[str], repeat: int,
             timeout: float | None = None) -> tuple[float, float | None, subprocess.CompletedProcess[str]]:
    """Median wall time and peak RSS (MB, via GNU time when installed) of `repeat` whole-process runs."""
    gnu_time = Path("/usr/bin/time")
    times: list[float] = []
    peaks: list[float] = []
    proc = None
    with tempfile.TemporaryDirectory() as tmp:
        rss_file = Path(tmp) / "rss"
        for _ in range(repeat):
            full = [str(gnu_time), "-f", "%M", "-o", str(rss_file), *cmd] if gnu_time.exists() else list(cmd)
            t0 = time.perf_counter()
            proc = _run(full, timeout)
            times.append(time.perf_counter() - t0)
            # GNU time puts "Command exited with non-zero status N" before the figure when exit != 0.
            last = rss_file.read_text().strip().splitlines()[-1:] if rss_file.exists() else []
            if last and last[0].isdigit():
                peaks.append(int(last[0]) / 1024)
    assert proc is not None
    return statistics.median(times), max(peaks) if peaks else None, proc


def _summary(proc: subprocess.CompletedProcess[str]) -> str:
    if proc.returncode == 2:
        return "error: " + (proc.stderr.strip().splitlines() or ["?"])[-1]
    data = json.loads(proc.stdout)
    counts: dict[str, int] = {}
    for f in data["findings"]:
        counts[f["severity"]] = counts.get(f["severity"], 0) + 1
    detail = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no findings"
    return f"verdict {data['verdict']}, exit {proc.returncode} ({detail})"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vmlinux", default="/sys/kernel/btf/vmlinux")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--abidiff-timeout", type=float, default=600.0, help="seconds before the anchor is stopped")
    args = ap.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]  # progress shows when piped
    vmlinux = Path(args.vmlinux)
    for tool in ("bpftool", "gcc", "pahole"):
        if shutil.which(tool) is None:
            print(f"{tool} not found (run scripts/setup.sh)", file=sys.stderr)
            return 2
    if not vmlinux.exists() or not ABIGUARD.exists():
        print(f"need {vmlinux} and {ABIGUARD}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-btf-") as tmp:
        work = Path(tmp)
        dump = _run(["bpftool", "btf", "dump", "file", str(vmlinux), "format", "c"])
        if dump.returncode != 0:
            raise SystemExit(f"bpftool failed: {dump.stderr}")
        edited = dump.stdout
        for _, edit in EDITS:
            edited = edit(edited)
        t0 = time.perf_counter()
        old_btf, old_obj = _build_btf(dump.stdout, work, "vmlinux-c")
        new_btf, new_obj = _build_btf(edited, work, "vmlinux-c-edited")
        print(f"built two BTFs from {vmlinux} via bpftool -> gcc -g -> pahole in {time.perf_counter() - t0:.1f} s")
        print("edits in the second: " + "; ".join(name for name, _ in EDITS))
        print()
        runs = [
            (f"{vmlinux} vs itself", vmlinux, vmlinux),
            ("round-trip BTF vs edited round-trip BTF", old_btf, new_btf),
            (f"{vmlinux} vs edited round-trip BTF (functions gone)", vmlinux, new_btf),
        ]
        for label, old, new in runs:
            cmd = [str(ABIGUARD), "diff", str(old), str(new), "--format", "json"]
            secs, rss, proc = _measure(cmd, args.repeat)
            mem = f", peak {rss:.0f} MB" if rss is not None else ""
            ok = "within" if secs < GOAL_SECONDS else "OVER"
            print(f"abiguard diff  {label}")
            print(f"    {secs:.2f} s median of {args.repeat}{mem} ({ok} the {GOAL_SECONDS:.0f} s goal);"
                  f" {_summary(proc)}")
        if shutil.which("abidiff"):
            cmd = ["abidiff", "--non-reachable-types", str(old_obj), str(new_obj)]
            print("abidiff --non-reachable-types on the DWARF of the same two objects (anchor)")
            try:
                secs, rss, proc = _measure(cmd, 1, timeout=args.abidiff_timeout)
            except subprocess.TimeoutExpired:
                print(f"    did not finish within {args.abidiff_timeout:.0f} s (stopped)")
            else:
                mem = f", peak {rss:.0f} MB" if rss is not None else ""
                summary = next((ln for ln in proc.stdout.splitlines() if ln.startswith("Unreachable types")), "")
                print(f"    {secs:.2f} s{mem}; exit {proc.returncode}; {summary}")
        print("abicheck 0.7.0 (not installed; figure from shared/docs/anchors.md on this machine): "
              "21.6 s dump + 49 s compare for one vmlinux BTF")
    return 0


if __name__ == "__main__":
    sys.exit(main())
