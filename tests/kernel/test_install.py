"""headers_install emulation against the kernel's own `make headers` and its own unifdef."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import require_tool
from conftest import test_cache_dir as shared_cache_dir
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abiguard.sources.kernel.install import install_headers, sed_install
from abiguard.sources.kernel.tree import COMMON_PATHS, arch_paths, read_tree
from abiguard.sources.kernel.unifdef import unifdef

from .conftest import kernel_make_headers

KARCHES = ["x86", "arm64", "s390", "arm", "powerpc", "mips", "riscv", "loongarch", "sparc"]


@pytest.mark.slow
@pytest.mark.parametrize("karch", KARCHES)
def test_install_matches_make_headers(linux_source: Path, karch: str) -> None:
    """Same files, byte for byte, as the 6.1 tree's `make headers` (headers_install minus the rsync)."""
    real_root = kernel_make_headers(linux_source, karch)
    real = {p.relative_to(real_root).as_posix(): p.read_bytes() for p in real_root.rglob("*.h")}
    tree = read_tree(linux_source, None, [*COMMON_PATHS, *arch_paths(karch)])
    ours = install_headers(tree.files, karch)
    assert sorted(ours.headers) == sorted(real)
    differ = [p for p in sorted(real) if ours.headers[p].encode("utf-8", "surrogateescape") != real[p]]
    assert differ == []
    assert len(real) > 900
    # What the Makefiles generate: asm-generic wrappers, version.h and (where the arch has them) unistd.
    assert ours.origin["linux/version.h"].startswith("generated:")
    if karch in ("x86", "s390", "arm", "powerpc", "mips", "sparc"):
        assert any(o.startswith("generated: arch/") and o.endswith(".tbl") for o in ours.origin.values())
    assert not [d for d in ours.diagnostics if "skipped" in d.message]


def test_no_header_test_lists(linux_source: Path) -> None:
    """usr/include/Makefile's no-header-test list, with its per-arch additions, marks headers."""
    tree = read_tree(linux_source, None, [*COMMON_PATHS, *arch_paths("sparc")])
    sparc = install_headers(tree.files, "sparc")
    assert "linux/videodev2.h" in sparc.no_test
    assert "asm/fbio.h" in sparc.no_test  # ifeq ($(SRCARCH),sparc)
    assert "no-header-test" in sparc.no_test["linux/videodev2.h"]
    tree = read_tree(linux_source, None, [*COMMON_PATHS, *arch_paths("x86")])
    x86 = install_headers(tree.files, "x86")
    assert "asm/fbio.h" not in x86.no_test
    assert "linux/kvm.h" in x86.headers  # x86 has asm/kvm.h: exported


def test_sed_rules_match_the_scripts_sed(linux_source: Path) -> None:
    """Each rule of headers_install.sh's sed program, quirks included, against that program run by sed."""
    sed = require_tool("sed")
    script = (linux_source / "scripts" / "headers_install.sh").read_text()
    program = script.split("sed -E -e '", 1)[1].split("' $INFILE", 1)[0]
    src = (
        "#ifndef _UAPI_LINUX_FOO_H\n#define _UAPI_LINUX_FOO_H\n"
        "#include <linux/compiler.h>\n#include <linux/compiler_types.h>\n"
        "int f(void __user *p, char __force *q, void __iomem *r, int (__user *fp));\n"
        "static inline int g(void) __attribute_const__;\nint h(void) __attribute_const__\n"
        "struct s { int a; } __packed;\nstruct __packed t;\n__packed\n"
        "asm volatile(\"nop\");\n\tinline\nint inlined, asmx, xvolatile;\n(volatile int *)\n"
        "#endif /* _UAPI_LINUX_FOO_H */\n#endif\t/*\t_UAPI_X */\nno newline at end __user "
    )
    expected = subprocess.run([sed, "-E", "-e", program], input=src, capture_output=True, text=True, check=True)
    assert sed_install(src) == expected.stdout
    assert "__attribute__((packed))" in expected.stdout  # the program really ran


@pytest.fixture(scope="module")
def real_unifdef(linux_source: Path) -> Path:
    """The kernel's scripts/unifdef.c, built with the host gcc."""
    gcc = require_tool("gcc")
    exe = shared_cache_dir() / "unifdef-6.1"
    if not exe.exists():
        subprocess.run([gcc, "-O1", "-o", str(exe), str(linux_source / "scripts" / "unifdef.c")], check=True)
    return exe


def _run_unifdef(exe: Path, text: str) -> str:
    proc = subprocess.run([str(exe), "-U__KERNEL__", "-D__EXPORTED_HEADERS__"], input=text.encode(),
                          capture_output=True)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.stdout.decode()


_CONDS = [
    "#ifdef __KERNEL__", "#ifndef __KERNEL__", "#if defined(__KERNEL__)", "#if !defined(__KERNEL__)",
    "#ifdef FOO", "#if defined(FOO) && defined(__KERNEL__)", "#if defined(FOO) || defined(__KERNEL__)",
    "#if !defined(__KERNEL__) && defined(FOO)", "#if __KERNEL__", "#ifdef __EXPORTED_HEADERS__",
    "#if defined(__KERNEL__) || !defined(__EXPORTED_HEADERS__)", "#if 0", "#if BAR > 1 || defined __KERNEL__",
    "#ifndef __KERNEL__ /* userspace */",
]
_ELIFS = ["#elif defined(__KERNEL__)", "#elif !defined(__KERNEL__)", "#elif defined(BAR)", "#elif 1"]


@st.composite
def _blocks(draw: st.DrawFn, depth: int = 0) -> str:
    lines = []
    for _ in range(draw(st.integers(1, 3))):
        if depth < 3 and draw(st.booleans()):
            lines.append(draw(st.sampled_from(_CONDS)))
            lines.append(draw(_blocks(depth + 1)))
            for _ in range(draw(st.integers(0, 2))):
                lines.append(draw(st.sampled_from(_ELIFS)))
                lines.append(draw(_blocks(depth + 1)))
            if draw(st.booleans()):
                lines.append("#else")
                lines.append(draw(_blocks(depth + 1)))
            lines.append("#endif")
        else:
            lines.append(draw(st.sampled_from(["int a;", "/* c */", "#define X 1", "/*\n#ifdef __KERNEL__\n*/"])))
    return "\n".join(lines)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_blocks())
def test_unifdef_matches_kernel_unifdef(real_unifdef: Path, text: str) -> None:
    """Random nests of #if/#elif/#else on __KERNEL__ and other symbols: same output as scripts/unifdef."""
    text += "\n"
    assert unifdef(text) == _run_unifdef(real_unifdef, text)


@pytest.mark.parametrize(("line", "ok"), [
    ("/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */", True),
    ("/* SPDX-License-Identifier: GPL-2.0 */", False),
    ("// SPDX-License-Identifier: (GPL-2.0+ WITH Linux-syscall-note) OR BSD-3-Clause", True),
    ("/* SPDX-License-Identifier: BSD-3-Clause */", True),
    ("/* GPL-2.0 licensed; SPDX-License-Identifier: MIT */", True),  # GPL- before the tag: grep ignores it
])
def test_spdx_check_as_headers_install_sh(line: str, ok: bool) -> None:
    from abiguard.sources.kernel.install import _spdx_ok

    assert _spdx_ok(f"{line}\n#ifndef X\n#define X\n#endif\n") is ok
    assert _spdx_ok(f"#ifndef X\n{line}") is ok  # on the last line, without a newline
