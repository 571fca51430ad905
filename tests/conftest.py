"""Fixtures shared by every test area: compilers, the running kernel's BTF, the Linux 6.1 source."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

LINUX_TARBALL = Path("/usr/src/linux-source-6.1.tar.xz")
VMLINUX_BTF = Path("/sys/kernel/btf/vmlinux")
# Parts of the kernel tree the tests read: UAPI headers, arch dirs (Kbuild, syscall tables), scripts.
_LINUX_PARTS = ("include", "arch", "scripts", "usr", "Makefile", "tools/include")


def test_cache_dir() -> Path:
    """A directory kept between test runs for expensive, read-only inputs."""
    base = os.environ.get("ABIGUARD_TEST_CACHE") or Path.home() / ".cache" / "abiguard-tests"
    path = Path(base)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def mounted_tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` mounted at `where` (root only); skips where mounting is not allowed."""
    where.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


@contextlib.contextmanager
def read_only(directory: Path) -> Iterator[None]:
    """Make `directory` read-only for this process: a read-only remount when it is a mount point,
    else (not root) its permission bits; root ignores those, so root needs the mount."""
    if os.geteuid() == 0:
        proc = subprocess.run(["mount", "-o", "remount,ro", str(directory)], capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.skip(f"cannot remount read-only: {proc.stderr.strip()}")
        try:
            yield
        finally:
            subprocess.run(["mount", "-o", "remount,rw", str(directory)], capture_output=True)
    else:
        for p in [directory, *directory.rglob("*")]:
            if p.is_dir():
                p.chmod(0o555)
        try:
            yield
        finally:
            for p in [directory, *directory.rglob("*")]:
                if p.is_dir():
                    p.chmod(0o755)


@contextlib.contextmanager
def cache_home(tmp_path: Path, size: str = "256m") -> Iterator[Path]:
    """A cache home that can be made read-only: its own tmpfs for root, a plain directory otherwise."""
    home = tmp_path / "cache-home"
    if os.geteuid() == 0:
        with mounted_tmpfs(home, size):
            yield home
    else:
        home.mkdir()
        yield home


def require_tool(name: str) -> str:
    """The tool's path, or skip the test when this machine lacks it (scripts/setup.sh installs it)."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (run scripts/setup.sh)")
    return path


@pytest.fixture
def compile_c(tmp_path: Path) -> Callable[..., Path]:
    """Compile C source text with clang into an object file; returns its path.

    target: "bpf", "bpfeb" or any clang triple; cflags are extra flags (default -g -O2 -c).
    """
    clang = require_tool("clang")

    def run(source: str, *, target: str = "bpf", name: str = "prog", cflags: Sequence[str] = ()) -> Path:
        src = tmp_path / f"{name}.c"
        obj = tmp_path / f"{name}.o"
        src.write_text(source)
        cmd = [clang, "-target", target, "-g", "-O2", "-c", str(src), "-o", str(obj), *cflags]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise AssertionError(f"clang failed: {' '.join(cmd)}\n{proc.stderr}")
        return obj

    return run


@pytest.fixture
def vmlinux_btf() -> Path:
    """This machine's kernel BTF; skips cleanly where the kernel has none."""
    if not VMLINUX_BTF.exists():
        pytest.skip(f"{VMLINUX_BTF} is not present on this machine")
    return VMLINUX_BTF


@pytest.fixture(scope="session")
def kernel_packages() -> list[Path]:
    """Real Debian kernel packages (linux-image-*.deb) cached by scripts/kernels.sh; skips when none."""
    directory = Path(os.environ.get("ABIGUARD_KERNELS_DIR") or test_cache_dir() / "kernels")
    found = sorted(directory.glob("linux-image-*.deb"))
    if not found:
        pytest.skip(f"no kernel packages in {directory} (run scripts/kernels.sh)")
    return found


def unpack_linux_once(name: str, members: Sequence[str], *, replace: Path | None = None) -> Path:
    """Extract `members` (tar wildcards) of Debian's Linux 6.1 tarball into the test cache once per
    tarball, under a lock shared by parallel runs; `replace` is removed first. Skips without the tarball."""
    if not LINUX_TARBALL.exists():
        pytest.skip(f"{LINUX_TARBALL} is missing (run scripts/setup.sh)")
    cache = test_cache_dir()
    done = cache / f"{name}.complete"
    stamp = str(LINUX_TARBALL.stat().st_mtime_ns)
    with (cache / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists() or done.read_text() != stamp:
            if replace is not None:
                shutil.rmtree(replace, ignore_errors=True)
            subprocess.run(["tar", "-xJf", str(LINUX_TARBALL), "-C", str(cache), "--wildcards", *members], check=True)
            done.write_text(stamp)
    return cache


@pytest.fixture(scope="session")
def linux_source() -> Path:
    """The Linux 6.1 tree from Debian's linux-source-6.1 (the parts tests need), unpacked once and cached."""
    tree = test_cache_dir() / "linux-source-6.1"
    members = ["--exclude=*/arch/*/boot/dts*", *(f"linux-source-6.1/{p}" for p in _LINUX_PARTS)]
    unpack_linux_once("linux-source-6.1", members, replace=tree)
    return tree
