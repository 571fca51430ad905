"""`abiguard snapshot`: a stored baseline diffs like the source it was made from."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "user_pt_regs-2022"


def _abiguard(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-c", "from abiguard.cli import main; main()", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def test_snapshot_round_trip(tmp_path: Path) -> None:
    baseline = tmp_path / "before.json.gz"
    made = _abiguard("snapshot", str(EXAMPLE / "before"), "--arch", "s390x,x86_64,i386", "-o", str(baseline))
    assert made.returncode == 0 and baseline.exists(), made.stderr

    same = _abiguard("diff", str(baseline), str(EXAMPLE / "before"), "--arch", "s390x,x86_64,i386",
                     "--format", "json")
    assert same.returncode == 0, same.stderr
    assert json.loads(same.stdout)["verdict"] == "identical"

    changed = _abiguard("diff", str(baseline), str(EXAMPLE / "after"), "--arch", "s390x,x86_64,i386",
                        "--format", "json")
    assert changed.returncode == 1, changed.stderr
    report = json.loads(changed.stdout)
    assert {f["arch"] for f in report["findings"] if f["severity"] == "breaking"} == {"s390x"}


def test_snapshot_lacking_an_arch_is_an_error(tmp_path: Path) -> None:
    baseline = tmp_path / "x86.json"
    assert _abiguard("snapshot", str(EXAMPLE / "before"), "--arch", "x86_64", "-o", str(baseline)).returncode == 0
    proc = _abiguard("diff", str(baseline), str(EXAMPLE / "after"), "--arch", "aarch64")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("abiguard: error: ")


def test_unwritable_output_is_an_error(tmp_path: Path) -> None:
    proc = _abiguard("snapshot", str(EXAMPLE / "before"), "-o", str(tmp_path / "missing" / "x.json"))
    assert proc.returncode == 2 and proc.stderr.startswith("abiguard: error: "), proc.stderr
    assert not (tmp_path / "missing").exists()
