"""Fixtures for the CO-RE checker: BPF programs and kernel-like BTFs compiled by clang in the test run."""

from __future__ import annotations

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
