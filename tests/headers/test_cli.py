"""Header sources through the `abiguard` command line: arch errors, diagnostics, per-arch output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ABIGUARD = Path(sys.executable).with_name("abiguard")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ABIGUARD), *args], capture_output=True, text=True, timeout=300)


def test_unknown_arch_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "h.h").write_text("struct h { long l; };\n")
    proc = _run("layout", "struct h", str(tmp_path / "h.h"), "--arch", "x86_64,vax")
    assert proc.returncode == 2
    assert proc.stderr.startswith("abiguard: error: --arch: unknown architecture 'vax'")
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_layout_of_a_header_per_arch_with_broken_neighbour(tmp_path: Path) -> None:
    (tmp_path / "ok.h").write_text("struct pair { int a; long b; };\n")
    (tmp_path / "bad.h").write_text("struct broken { missing_t m; };\n")
    proc = _run("layout", "struct pair", str(tmp_path), "--arch", "arm,riscv64")
    assert proc.returncode == 0, proc.stderr
    # Reported once for both arches, not once per arch.
    assert proc.stderr.count("missing_t") == 1
    assert "bad.h:1: all arches: unknown type name 'missing_t'" in proc.stderr
    arm, riscv = proc.stdout.split("===== riscv64 =====")
    assert "size: 8," in arm and "size: 16," in riscv
