"""Reader notes reach the user once, with the arches they concern, not once per arch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def _layout(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-c", "from abiguard.cli import main; main()", "layout", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def test_a_broken_header_is_one_warning_for_all_arches(tmp_path: Path) -> None:
    (tmp_path / "good.h").write_text("struct good { long a; int b; };\n")
    (tmp_path / "bad.h").write_text("struct bad { undeclared_t x; };\n")
    proc = _layout("struct good", str(tmp_path), "--arch", "x86_64,i386,s390x")
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if "bad.h" in line]
    assert len(warnings) == 1, proc.stderr
    assert warnings[0].startswith("abiguard: warning: ") and "all arches: " in warnings[0]
    assert "undeclared_t" in warnings[0]


def test_an_arch_only_note_names_its_arch(tmp_path: Path) -> None:
    (tmp_path / "good.h").write_text("struct good { long a; };\n")
    (tmp_path / "odd.h").write_text("#ifdef __s390x__\nstruct odd { undeclared_t x; };\n#endif\n")
    proc = _layout("struct good", str(tmp_path), "--arch", "x86_64,s390x")
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if "odd.h" in line]
    assert len(warnings) == 1 and ": s390x: " in warnings[0], proc.stderr
