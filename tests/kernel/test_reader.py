"""The reader's planning: which headers are parsed, alone or together, and why some are not."""

from __future__ import annotations

from pathlib import Path

import pytest

from abiguard.model.target import TARGETS
from abiguard.sources.kernel import _available, codec
from abiguard.sources.kernel.install import install_headers
from abiguard.sources.kernel.planning import risky_headers, unconditional_includes, variant_headers
from abiguard.sources.kernel.reader import Job, parse_job
from abiguard.sources.kernel.staging import staged
from abiguard.sources.kernel.tree import COMMON_PATHS, arch_paths, read_tree


def test_unconditional_includes() -> None:
    text = (
        "#ifndef _X_H\n#define _X_H\n#include <a.h>\n#include \"b.h\"\n"
        "#ifdef __linux__\n#include <c.h>\n#else\n#include <sys/d.h>\n#endif\n"
        "#ifndef FOO\n#include <e.h>\n#endif\n#endif\n"
    )
    assert unconditional_includes(text) == ("<a.h", '"b.h')


def test_variant_headers_pick_one_abi() -> None:
    installed = {
        "asm/unistd.h": "#ifdef __i386__\n# include <asm/unistd_32.h>\n#elif defined(__ILP32__)\n"
                        "# include <asm/unistd_x32.h>\n#else\n# include <asm/unistd_64.h>\n#endif\n",
        "asm/unistd_32.h": "", "asm/unistd_64.h": "", "asm/unistd_x32.h": "",
        "linux/a.h": "#ifndef __ASSEMBLY__\n#include <linux/types.h>\n#else\n#include <asm/asm.h>\n#endif\n",
    }
    assert variant_headers(installed, installed) == {"asm/unistd_32.h", "asm/unistd_64.h", "asm/unistd_x32.h"}


def test_variant_headers_in_separate_if_blocks() -> None:
    """mips selects its syscall table with one #if block per ABI, not one chain; an unrelated
    conditional include of the same directory is still a root."""
    blocks = "".join(f"#if _MIPS_SIM == {abi}\n#define __NR_Linux {base}\n#include <asm/unistd_{abi}.h>\n#endif\n"
                     for abi, base in (("o32", 4000), ("n64", 5000), ("n32", 6000)))
    installed = {
        "asm/unistd.h": f"#ifndef _ASM_UNISTD_H\n#define _ASM_UNISTD_H\n{blocks}#endif\n",
        "asm/unistd_o32.h": "", "asm/unistd_n64.h": "", "asm/unistd_n32.h": "",
        "asm/other.h": "#ifdef __mips64\n#include <asm/extra.h>\n#endif\n#include <asm/unistd.h>\n",
        "asm/extra.h": "",
    }
    assert variant_headers(installed, installed) == {"asm/unistd_o32.h", "asm/unistd_n64.h", "asm/unistd_n32.h"}


@pytest.mark.slow
@pytest.mark.parametrize(("karch", "arch"), [("x86", "x86_64"), ("s390", "s390x")])
def test_headers_judged_uncompilable_really_fail(linux_source: Path, karch: str, arch: str) -> None:
    """Every header the static scan says needs a missing libc header fails when libclang parses it
    alone, with exactly that header not found; so skipping their parse loses nothing."""
    tree = read_tree(linux_source, None, [*COMMON_PATHS, *arch_paths(karch)])
    inst = install_headers(tree.files, karch)
    risky = {h: m for h, m in risky_headers(inst.headers, _available([])).items() if h not in inst.no_test}
    assert "linux/if.h" in risky and risky["linux/if.h"] == "sys/socket.h"
    assert 20 < len(risky) < 80  # a small, listed set
    with staged(inst.headers, None) as root:
        for header, missing in sorted(risky.items()):
            payload = parse_job(Job(TARGETS[arch], (header,), (root,), ()), None, "")[0]
            unit = codec.load(payload)
            assert not unit.ok, header
            assert any(f"'{missing}' file not found" in d.message for d in unit.diagnostics), header


def _syscall_table(linux_source: Path, abi: str) -> dict[str, int]:
    """name -> number of arch/mips/kernel/syscalls/syscall_<abi>.tbl (the kernel's own source of truth)."""
    table = {}
    for line in (linux_source / f"arch/mips/kernel/syscalls/syscall_{abi}.tbl").read_text().splitlines():
        fields = line.split()
        if len(fields) >= 3 and not line.startswith("#"):
            table[fields[2]] = int(fields[0])
    return table


@pytest.mark.slow
@pytest.mark.parametrize(("arch", "abi", "base"), [("mips", "o32", 4000), ("mips64el", "n64", 5000)])
def test_mips_syscall_numbers_are_the_targets_abi(linux_source: Path, kernel_cache_dir: Path, arch: str, abi: str,
                                                  base: int) -> None:
    """Each mips ABI gets its own syscall table's numbers, not a mix of o32/n32/n64 reported as conflicts."""
    from abiguard.sources.kernel import load_kernel

    graph = load_kernel(f"kernel:{linux_source}", [TARGETS[arch]], cache_root=kernel_cache_dir).graphs[0]
    assert not [d for d in graph.diagnostics if "conflicting" in d.message]
    table = _syscall_table(linux_source, abi)
    numbers = {name[len("__NR_"):]: c.value for name, c in graph.constants.items()
               if name.startswith("__NR_") and name[len("__NR_"):] in table}
    assert len(numbers) > 300
    assert numbers == {name: base + table[name] for name in numbers}
