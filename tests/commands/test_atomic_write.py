"""Files abiguard writes (reports, snapshots, indexes) appear whole and with the usual mode."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from abiguard.fileio import atomic_write


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_mode_follows_umask(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        target = tmp_path / "report.md"
        atomic_write(target, "x\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    assert target.read_text() == "x\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]  # no temp file left behind
