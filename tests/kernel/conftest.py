"""Fixtures for kernel: sources: the kernel's own `make headers` output, a UAPI-only copy of 6.1, and a
scratch git repository with two commits."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest
from conftest import require_tool
from conftest import test_cache_dir as shared_cache_dir

from abiguard.model.target import KERNEL_ARCHES
from abiguard.sources.kernel.tree import COMMON_PATHS, arch_paths

ABIGUARD = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "abiguard"
PTREGS_OLD = "\tunsigned long gprs[NUM_GPRS];\n} user_pt_regs;"
PTREGS_NEW = "\tunsigned long gprs[NUM_GPRS];\n\tunsigned long orig_gpr2;\n} user_pt_regs;"
S390_PTRACE = "arch/s390/include/uapi/asm/ptrace.h"


def kernel_make_headers(linux_source: Path, karch: str) -> Path:
    """usr/include as the 6.1 tree's own `make headers` writes it for ARCH=karch (built once, cached).

    `make headers` is what `make headers_install` runs before copying usr/include with rsync, so its
    output is the installed tree; O= keeps the source tree untouched.
    """
    require_tool("make")
    require_tool("gcc")
    out = shared_cache_dir() / f"linux-6.1-headers-{karch}"
    done = out / ".complete"
    with (shared_cache_dir() / f"linux-6.1-headers-{karch}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(out, ignore_errors=True)
            proc = subprocess.run(
                ["make", "-s", "-C", str(linux_source), f"O={out}", f"ARCH={karch}", "headers"],
                capture_output=True, text=True, env={**os.environ, "KBUILD_VERBOSE": "0"},
            )
            if proc.returncode != 0:
                pytest.fail(f"make headers ARCH={karch} failed:\n{proc.stderr[-2000:]}")
            done.write_text("ok")
    return out / "usr" / "include"


def copy_uapi(linux_source: Path, dest: Path) -> Path:
    """The parts of the tree the kernel reader uses, for every supported arch, copied to `dest`."""
    for rel in [*COMMON_PATHS, *(p for k in KERNEL_ARCHES for p in arch_paths(k))]:
        src = linux_source / rel
        if src.is_dir():
            shutil.copytree(src, dest / rel)
        elif src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env=env).stdout


@pytest.fixture(scope="session")
def uapi_repo(linux_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repo of the 6.1 UAPI: tag v1 as shipped, tag v2 (HEAD, branch main) with s390's
    user_pt_regs grown by `unsigned long orig_gpr2;`."""
    require_tool("git")
    repo = copy_uapi(linux_source, tmp_path_factory.mktemp("uapi-repo"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "6.1 UAPI")
    git(repo, "tag", "v1")
    ptrace = repo / S390_PTRACE
    text = ptrace.read_text()
    assert PTREGS_OLD in text
    ptrace.write_text(text.replace(PTREGS_OLD, PTREGS_NEW))
    git(repo, "commit", "-q", "-am", "s390: add orig_gpr2 to user_pt_regs")
    git(repo, "tag", "v2")
    return repo


@pytest.fixture(scope="session")
def kernel_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One abiguard cache shared by the kernel tests that only read (parses of 6.1 are reused); it is
    $XDG_CACHE_HOME/abiguard for XDG_CACHE_HOME = its parent, so CLI runs share it too."""
    return tmp_path_factory.mktemp("xdg-cache") / "abiguard"


MINI_ROOTS = ("linux/bpf_perf_event.h", "linux/stat.h", "linux/fs.h", "linux/time.h", "linux/ptrace.h",
              "linux/perf_event.h", "linux/fcntl.h", "linux/signal.h", "linux/sched.h", "linux/stddef.h")


def make_mini_tree(linux_source: Path, dest: Path, karch: str = "s390", roots: Sequence[str] = MINI_ROOTS) -> Path:
    """A small kernel tree cut from 6.1: a few linux/ headers (`roots`), all of the arch's asm/ and
    asm-generic/, and every header those include; enough to parse in seconds and still have several TUs."""
    import re

    from abiguard.sources.kernel.install import install_headers
    from abiguard.sources.kernel.tree import read_tree

    tree = read_tree(linux_source, None, [*COMMON_PATHS, *arch_paths(karch)])
    inst = install_headers(tree.files, karch)
    include = re.compile(r"^[ \t]*#[ \t]*include[ \t]*<([^>]+)>", re.M)
    want = [h for h in inst.headers if h.startswith(("asm/", "asm-generic/"))] + list(roots)
    seen: set[str] = set()
    while want:
        h = want.pop()
        if h in seen or h not in inst.headers:
            continue
        seen.add(h)
        want.extend(include.findall(inst.headers[h]))
    keep = {inst.origin[h] for h in seen if not inst.origin[h].startswith("generated:")}
    keep |= {p for p in tree.files if not p.endswith(".h")}  # Kbuild, Makefiles, syscall tables
    for rel in sorted(keep):
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_bytes(tree.files[rel])
    return dest
