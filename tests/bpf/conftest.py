"""Fixtures for the CO-RE checker: BPF programs and kernel-like BTFs compiled by clang in the test run."""

from __future__ import annotations

import fcntl
import glob
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest


def require_tool(name: str) -> str:
    """The tool's path, or skip (scripts/setup.sh installs it)."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (run scripts/setup.sh)")
    return path

# Types the libbpf headers expect (normally from vmlinux.h); kept minimal so test programs stay
# independent of the host's kernel headers.
PRELUDE = """
typedef unsigned char __u8; typedef signed char __s8;
typedef unsigned short __u16; typedef short __s16;
typedef unsigned int __u32; typedef int __s32;
typedef unsigned long long __u64; typedef long long __s64;
typedef __u16 __be16; typedef __u32 __be32; typedef __u32 __wsum;
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
"""


def _libbpf_headers() -> None:
    if not glob.glob("/usr/include/bpf/bpf_core_read.h"):
        pytest.skip("libbpf-dev headers are not installed (run scripts/setup.sh)")


@pytest.fixture
def bpf_prog(compile_c: Callable[..., Path]) -> Callable[..., Path]:
    """Compile a BPF program (PRELUDE + body) with clang -target bpf|bpfeb -g -O2."""
    _libbpf_headers()

    def run(body: str, *, target: str = "bpf", name: str = "prog") -> Path:
        return compile_c(PRELUDE + body + '\nchar LICENSE[] SEC("license") = "GPL";\n', target=target, name=name)

    return run


@pytest.fixture
def kernel_btf(compile_c: Callable[..., Path]) -> Callable[..., Path]:
    """A kernel-like BTF: struct definitions kept alive by a global, compiled with clang -g (ELF .BTF).

    `uses` names the types to keep, e.g. ["struct user_pt_regs", "enum foo"].
    """

    def run(defs: str, uses: Sequence[str], *, target: str = "bpf", name: str = "kernel", raw: bool = False) -> Path:
        keep = "\n".join(f"{t} *__keep_{i};" for i, t in enumerate(uses))
        obj = compile_c(defs + "\n" + keep + "\n", target=target, name=name, cflags=["-O0"])
        if not raw:
            return obj
        objcopy = require_tool("llvm-objcopy")
        out = obj.with_suffix(".btf")
        subprocess.run([objcopy, f"--dump-section=.BTF={out}", str(obj)], check=True, capture_output=True)
        return out

    return run


def run_core(*args: str | Path, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run `abiguard core ...` as a user would; returns (exit code, stdout, stderr)."""
    proc = subprocess.run(
        [sys.executable, "-c", "from abiguard.cli import main; main()", "core", *map(str, args)],
        env=None if env is None else {**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc.returncode, proc.stdout, proc.stderr


def core_json(*args: str | Path) -> tuple[int, dict]:
    rc, out, err = run_core(*args, "--format", "json", "--verbose")
    assert rc in (0, 1), err
    return rc, json.loads(out)


def relos(doc: dict, kernel: str | None = None) -> list[dict]:
    """All relocation records of a JSON report (optionally for one kernel whose label contains `kernel`)."""
    out = []
    for cell in doc["matrix"]:
        if kernel is None or kernel in cell["kernel"]:
            out.extend(cell["relocations"])
    return out


# Compressed payload magics in a bzImage, with the CLI that decompresses each (an oracle-side tool, not ours).
_PAYLOADS = (
    (b"\x02\x21\x4c\x18", "lz4"), (b"\x28\xb5\x2f\xfd", "zstd"), (b"\xfd7zXZ\x00", "xz"), (b"\x1f\x8b\x08", "gzip"),
)


def _extract_btf(deb: Path, out: Path) -> None:
    """The .BTF of a Debian kernel package's vmlinuz, extracted with dpkg-deb, the decompressor CLI and objcopy."""
    work = out.with_suffix(".work")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    subprocess.run([require_tool("dpkg-deb"), "-x", str(deb), str(work)], check=True)
    (image,) = sorted(work.glob("boot/vmlinuz-*"))
    data = image.read_bytes()
    for magic, tool in _PAYLOADS:
        pos = data.find(magic)
        if pos < 0 or shutil.which(tool) is None:
            continue
        proc = subprocess.run([tool, "-dc"], input=data[pos:], capture_output=True)
        if proc.stdout[:4] == b"\x7fELF":
            (work / "vmlinux").write_bytes(proc.stdout)
            subprocess.run([require_tool("llvm-objcopy"), f"--dump-section=.BTF={out}", str(work / "vmlinux"),
                            str(work / "discard")], check=True, capture_output=True)
            break
    shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="session")
def debian_61() -> tuple[Path, Path]:
    """(what to pass to --kernel, its raw BTF for bpftool) for a Debian 6.1 amd64 kernel package (scripts/kernels.sh).

    The package itself is passed when abiguard reads packages; otherwise the BTF extracted here.
    """
    from conftest import test_cache_dir

    from abiguard.bpf.kernels import load_kernels
    from abiguard.errors import AbiguardError

    kernels = test_cache_dir() / "kernels"
    debs = sorted(kernels.glob("linux-image-6.1.*-amd64*_amd64.deb"))
    if not debs:
        pytest.skip("no Debian 6.1 amd64 kernel package cached (run scripts/kernels.sh)")
    deb = debs[-1]
    extracted = test_cache_dir() / "kernel-btf"  # not beside the packages: a directory of kernels stays one
    extracted.mkdir(exist_ok=True)
    btf = extracted / (deb.name.removesuffix(".deb") + ".btf")
    with (extracted / "extract.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not btf.exists():
            _extract_btf(deb, btf)
    if not btf.exists():
        pytest.skip(f"cannot extract the BTF of {deb.name} on this machine")
    try:
        load_kernels([str(deb)])[0].load()
        return deb, btf
    except AbiguardError:
        return btf, btf
