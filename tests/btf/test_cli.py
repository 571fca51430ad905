"""The CLI on damaged BTF: exactly one `abiguard: error: <file>: ...` line on stderr and exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from abiguard.sources.btf.reader import btf_from_elf

from .conftest import ALL_KINDS_C

ABIGUARD = Path(sys.executable).parent / "abiguard"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    if not ABIGUARD.exists():
        pytest.skip(f"{ABIGUARD} is not installed (pip install -e .)")
    return subprocess.run([str(ABIGUARD), *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("cut", [3, 20, 100, -1])
def test_truncated_btf_gives_one_error_line(compile_c, tmp_path: Path, cut: int) -> None:
    data = btf_from_elf(compile_c(ALL_KINDS_C, name="cli"))
    path = tmp_path / "truncated.btf"
    path.write_bytes(data[:cut])
    proc = _run("layout", "struct outer", str(path))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"abiguard: error: {path}: "), proc.stderr
    assert "byte " in lines[0] and "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_cycle_reached_by_the_command_is_one_error_line(tmp_path: Path) -> None:
    from .btfwriter import BtfWriter

    w = BtfWriter()
    i = w.int_("int", 4, 1)
    w.struct("loop", 8, [("a", i, 0, 0), ("b", 3, 32, 0)])
    w.typedef("loop_t", 2)
    path = tmp_path / "cycle.btf"
    path.write_bytes(w.build())
    proc = _run("layout", "struct loop", str(path))
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.splitlines()
    assert line.startswith(f"abiguard: error: {path}: BTF type [2] at byte ") and "reference cycle" in line


def test_layout_of_a_good_object_works(compile_c) -> None:
    obj = compile_c(ALL_KINDS_C, target="bpfeb", name="cli_ok")
    proc = _run("layout", "struct bits", str(obj))
    assert proc.returncode == 0, proc.stderr
    assert "struct bits {" in proc.stdout


def test_layout_of_split_btf_with_base(tmp_path: Path) -> None:
    from .test_pahole import BASE_C, MODULE_C, _encode

    base = _encode(tmp_path, "base", BASE_C)
    module = _encode(tmp_path, "module", MODULE_C, base=base)
    proc = _run("layout", "struct mod_s", str(module), "--base", str(base))
    assert proc.returncode == 0, proc.stderr
    assert "struct mod_s {" in proc.stdout and "struct base_s" in proc.stdout
    missing = _run("layout", "struct mod_s", str(module))  # without its base: ids point nowhere
    assert missing.returncode == 2 and missing.stderr.startswith(f"abiguard: error: {module}: ")
    assert len(missing.stderr.splitlines()) == 1
