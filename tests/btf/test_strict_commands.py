"""Every command is as strict as the strictest reader: a BTF file with a bad link anywhere (a typedef
naming itself, a type id that does not exist, a pointer cycle through no struct) is an error for every
command, whatever type it asks about: exit 2, one line naming the file, nothing written."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from .btfwriter import BtfWriter

ABIGUARD = Path(sys.executable).with_name("abiguard")


def _blob(corruption: str | None) -> bytes:
    """struct foo { int a; } and struct bar { struct foo f; }, plus one bad record nothing uses."""
    w = BtfWriter()
    i = w.int_("int", 4, 1)
    foo = w.struct("foo", 4, [("a", i, 0, 0)])
    w.struct("bar", 4, [("f", foo, 0, 0)])
    nxt = len(w.records) + 1  # the id the next record gets
    if corruption == "self_typedef":
        w.typedef("loop_t", nxt)
    elif corruption == "missing_id":
        w.typedef("dangling_t", 999)
    elif corruption == "pointer_cycle":
        w.ptr(nxt + 1)
        w.typedef("ptr_loop_t", nxt)
    return w.build()


@pytest.fixture
def files(tmp_path: Path) -> Callable[[str | None], Path]:
    def make(corruption: str | None) -> Path:
        path = tmp_path / f"{corruption or 'good'}.btf"
        path.write_bytes(_blob(corruption))
        return path

    return make


def _run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ABIGUARD), *map(str, args)], capture_output=True, text=True, timeout=300, cwd=cwd)


def _one_error_line(proc: subprocess.CompletedProcess[str], path: Path) -> str:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"abiguard: error: {path}: "), proc.stderr
    return lines[0]


def test_the_good_file_works_everywhere(files: Callable[[str | None], Path], tmp_path: Path) -> None:
    good = files(None)
    assert _run("layout", "struct foo", good).returncode == 0
    assert _run("users", "struct foo", good).returncode == 0
    assert _run("diff", good, good).returncode == 0
    assert _run("snapshot", good, "-o", tmp_path / "good.json").returncode == 0


@pytest.mark.parametrize("corruption", ["self_typedef", "missing_id", "pointer_cycle"])
def test_every_command_rejects_a_bad_link_it_does_not_ask_about(
    corruption: str, files: Callable[[str | None], Path], tmp_path: Path
) -> None:
    good, bad = files(None), files(corruption)
    what = {
        "self_typedef": "reference cycle not through a pointer",
        "missing_id": "refers to type id 999",
        "pointer_cycle": "pointer cycle through no struct or union",
    }[corruption]
    for args in (("layout", "struct foo", bad), ("users", "struct foo", bad), ("layout", "bar", bad),
                 ("diff", good, bad), ("diff", bad, good)):
        line = _one_error_line(_run(*args), bad)
        assert what in line, (args, line)
    out = tmp_path / "snap.json"
    _one_error_line(_run("snapshot", bad, "-o", out), bad)
    assert not out.exists() and not list(tmp_path.glob(".snap.json*"))  # nothing written half-way


@pytest.mark.parametrize("corruption", ["self_typedef", "missing_id", "pointer_cycle"])
def test_core_rejects_a_kernel_with_a_bad_link(corruption: str, files: Callable[[str | None], Path],
                                               compile_c: Callable[..., Path]) -> None:
    prog = compile_c(
        "struct foo { int a; } __attribute__((preserve_access_index));\n"
        "int get(struct foo *f) { return __builtin_preserve_access_index(f->a); }\n",
        name="prog",
    )
    assert _run("core", prog, "--kernel", files(None), "--no-cache").returncode == 0
    bad = files(corruption)
    _one_error_line(_run("core", prog, "--kernel", bad, "--no-cache"), bad)
