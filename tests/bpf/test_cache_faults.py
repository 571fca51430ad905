"""`abiguard core`'s cache under load and faults: two runs at once, read-only, full (one warning, same verdicts)."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import cache_home, read_only

import abiguard
from abiguard import CacheWarning, fileio

PROG = """
struct user_regs { unsigned long sp; unsigned long pc; } __attribute__((preserve_access_index));
int get_pc(struct user_regs *r) { return __builtin_preserve_access_index(r->pc); }
"""


@pytest.fixture
def inputs(compile_c: Callable[..., Path]) -> tuple[Path, Path, Path]:
    """A CO-RE object and two kernel BTFs (clang -target bpf -g): one it relocates on, one it does not."""
    prog = compile_c(PROG, name="prog")
    good = compile_c("struct user_regs { unsigned long pc; unsigned long sp; };\nstruct user_regs *keep;\n",
                     name="good", cflags=["-O0"])
    bad = compile_c("struct user_regs { unsigned long sp; };\nstruct user_regs *keep;\n", name="bad", cflags=["-O0"])
    return prog, good, bad


def _core(inputs: tuple[Path, Path, Path], home: Path | None) -> subprocess.Popen[str]:
    prog, good, bad = inputs
    cmd = [sys.executable, "-c", "from abiguard.cli import main; main()", "core", str(prog),
           "--kernel", str(good), "--kernel", str(bad), "--format", "json"]
    env = dict(os.environ)
    if home is None:
        cmd.append("--no-cache")
    else:
        env["XDG_CACHE_HOME"] = str(home)
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _done(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=600)
    return proc.returncode, out, err


def test_two_runs_at_once_share_the_cache(inputs: tuple[Path, Path, Path], tmp_path: Path) -> None:
    plain = _done(_core(inputs, None))
    assert plain[0] == 1, plain[2]
    home = tmp_path / "home"
    both = [_core(inputs, home), _core(inputs, home)]
    results = [_done(p) for p in both]
    assert [r[:2] for r in results] == [plain[:2], plain[:2]], [r[2] for r in results]
    assert list((home / "abiguard" / "core").iterdir())  # they did fill it
    assert _done(_core(inputs, home))[:2] == plain[:2]  # and what they stored reads back the same
    assert not [p for p in home.rglob("*") if p.name.endswith(".tmp")]


def test_read_only_cache_runs_without_it_and_warns_once(inputs: tuple[Path, Path, Path], tmp_path: Path) -> None:
    plain = _done(_core(inputs, None))
    with cache_home(tmp_path) as home, read_only(home):
        rc, out, err = _done(_core(inputs, home))
    assert (rc, out) == plain[:2]
    (line,) = [x for x in err.splitlines() if "cannot write the cache" in x]
    assert line.startswith("abiguard: warning: ") and "going on without storing to it" in line


def test_full_cache_is_one_warning_through_the_api(inputs: tuple[Path, Path, Path], tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*_: object, **__: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    prog, good, bad = inputs
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(fileio, "atomic_write", full)  # every cache write goes through fileio.CacheWriter
    with pytest.warns(CacheWarning) as caught:
        result = abiguard.check_core([prog], [good, bad])
    assert len(caught) == 1 and "No space left on device" in str(caught[0].message)
    plain = abiguard.check_core([prog], [good, bad], use_cache=False)
    assert [v.ok for v in result.verdicts] == [v.ok for v in plain.verdicts] == [True, False]
