"""The pre-commit hook (.pre-commit-hooks.yaml): its entry and args, run in a scratch git repository."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

HEADER = """typedef unsigned long long u64;
struct regs { u64 a, b; };
struct event { struct regs regs; u64 period; };
"""


def _hook() -> dict[str, str]:
    """The hook's fields as written in .pre-commit-hooks.yaml (one hook, `key: value` lines)."""
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    fields = dict(re.findall(r"^(?:- |  )([a-z_]+): (.*)$", text, re.M))
    assert fields["id"] == "abiguard" and fields["language"] == "python" and fields["pass_filenames"] == "false"
    return fields


def _command() -> list[str]:
    hook = _hook()
    args = [a.strip() for a in hook["args"].strip()[1:-1].split(",")]  # a YAML flow list of plain words
    return [*shlex.split(hook["entry"]), *args]


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args], cwd=repo, check=True,
                   capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "project"
    (repo / "include").mkdir(parents=True)
    (repo / "abi").mkdir()
    (repo / "include" / "abi.h").write_text(HEADER)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(["abiguard", "snapshot", "include", "--arch", "all", "-o", "abi/baseline.json.gz"], cwd=repo,
                   env=env, check=True, capture_output=True)
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "baseline")
    return repo


def _run_hook(repo: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(_command(), cwd=repo, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)


def test_hook_passes_an_unchanged_and_a_compatible_tree(repo: Path) -> None:
    assert _run_hook(repo).returncode == 0
    (repo / "include" / "abi.h").write_text(HEADER + "struct fresh { int x; };\n")
    proc = _run_hook(repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_hook_blocks_a_breaking_change(repo: Path) -> None:
    (repo / "include" / "abi.h").write_text(HEADER.replace("u64 a, b;", "u64 a, b, c;"))
    proc = _run_hook(repo)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.startswith("abiguard diff: BREAKING") and "period" in proc.stdout


def test_hook_reports_a_missing_baseline_as_an_error(repo: Path) -> None:
    (repo / "abi" / "baseline.json.gz").unlink()
    proc = _run_hook(repo)
    assert proc.returncode == 2 and proc.stderr.startswith("abiguard: error:")
