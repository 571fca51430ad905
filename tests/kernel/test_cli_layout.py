"""`abiguard layout TYPE kernel:TREE --arch ...`: per-arch layouts of the 6.1 UAPI, judged by gcc."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from abiguard.model.target import TARGETS

from .conftest import ABIGUARD, kernel_make_headers

ARCHES = ["s390x", "aarch64", "x86_64", "i386"]


def _gcc_agrees(arch: str, include: Path, layout: dict) -> None:
    """gcc for `arch`, over the kernel's own installed headers, accepts every number as a _Static_assert."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
    from gcc_layout_oracle import FREESTANDING_FLAGS, find_gcc

    gcc = find_gcc(TARGETS[arch])
    if gcc is None:
        pytest.skip(f"no gcc for {arch}")
    name = layout["name"]
    lines = ["#include <stddef.h>", "#include <linux/bpf_perf_event.h>",
             f"_Static_assert(sizeof({name}) == {layout['size']}, \"size\");",
             f"_Static_assert(_Alignof({name}) == {layout['align']}, \"align\");"]
    for m in layout["members"]:
        lines.append(f"_Static_assert(offsetof({name}, {m['name']}) == {m['offset']}, \"{m['name']}\");")
        lines.append(f"_Static_assert(sizeof((({name} *)0)->{m['name']}) == {m['size']}, \"{m['name']}\");")
    proc = subprocess.run([gcc, *FREESTANDING_FLAGS, "-fsyntax-only", "-I", str(include), "-x", "c", "-"],
                          input="\n".join(lines) + "\n", capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.slow
def test_layout_bpf_perf_event_data_per_arch(linux_source: Path, kernel_cache_dir: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(kernel_cache_dir.parent)}
    proc = subprocess.run(
        [str(ABIGUARD), "layout", "bpf_perf_event_data", f"kernel:{linux_source}", "--arch", ",".join(ARCHES),
         "--format", "json"],
        capture_output=True, text=True, env=env, timeout=1800,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "\r" not in proc.stderr and "\x1b[" not in proc.stderr  # no progress bar on a pipe
    layouts = {item["arch"]: item for item in json.loads(proc.stdout)}
    assert list(layouts) == ARCHES
    for arch in ARCHES:
        karch = TARGETS[arch].kernel_arch
        _gcc_agrees(arch, kernel_make_headers(linux_source, karch), layouts[arch])
    # user_pt_regs differs per arch, so the struct that embeds it does too.
    assert len({layouts[a]["size"] for a in ARCHES}) == len(ARCHES)
    # i386 aligns __u64 to 4: sample_period follows the 68-byte pt_regs directly.
    i386 = layouts["i386"]
    assert i386["align"] == 4
    regs, period = i386["members"][0], i386["members"][1]
    assert period["offset"] == regs["size"] and regs["size"] % 8 != 0

    text = subprocess.run(
        [str(ABIGUARD), "layout", "bpf_perf_event_data", f"kernel:{linux_source}", "--arch", "s390x"],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert text.returncode == 0 and "sample_period" in text.stdout
