"""A read answered partly from the cache gives the same TUs and the same graph as a read without it.

Cached results come from a parse of another ref, staged in another directory; nothing taken from them
may depend on where that was (a failed chunk's split once did, and with two headers sharing an
include guard the TU split decides which types exist at all).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from abiguard.model import Kind, TypeGraph
from abiguard.model.target import parse_arch_list
from abiguard.sources import SourceOptions
from abiguard.sources.kernel import KernelResult, load_kernel

from .conftest import make_mini_tree

TARGETS = parse_arch_list("s390x")
LINUX = "include/uapi/linux"
# Two headers with one include guard, as 6.1's netfilter_ipv4/ipt_TTL.h and ipt_ttl.h have: in one TU
# only the first one's types exist. Sorted first and last among the linux/ roots, so any split of
# their chunk other than taking the failing header out puts them apart.
GUARDED = {
    "aaa_abiguard_ttl.h": "enum {\n\tABIGUARD_TTL_SET = 0,\n\tABIGUARD_TTL_INC\n};\n\n"
                          "struct abiguard_TTL_info {\n\t__u8 mode;\n\t__u8 ttl;\n};\n",
    "zzz_abiguard_ttl.h": "enum {\n\tABIGUARD_TTL_EQ = 0,\n\tABIGUARD_TTL_NE\n};\n\n"
                          "struct abiguard_ttl_info {\n\t__u8 mode;\n\t__u8 ttl;\n\t__u32 pad;\n};\n",
}
# Fails to compile, so its chunk is split; clang names this file, so it is split off alone.
BROKEN = ("mmm_abiguard_broken.h", "#ifndef _ABIGUARD_BROKEN_H\n#define _ABIGUARD_BROKEN_H\n"
          "struct abiguard_broken {\n\tabiguard_undeclared_t x;\n};\n#endif\n")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _read(tree: Path, cache: Path, use_cache: bool) -> KernelResult:
    return load_kernel(f"kernel:{tree}", TARGETS, SourceOptions(use_cache=use_cache), cache_root=cache)


def _named(g: TypeGraph) -> list[tuple[int, str, int | None]]:
    """(kind, name, size) of every named type, and anonymous enums by their enumerators."""
    out = []
    for i in g.ids():
        t = g[i]
        if t.name:
            out.append((int(t.kind), t.name, g.size_of(i)))
        elif t.kind in (Kind.ENUM, Kind.ENUM64) and t.enumerators:
            out.append((int(t.kind), ",".join(e.name for e in t.enumerators), g.size_of(i)))
    return sorted(out)


@pytest.fixture
def tree(linux_source: Path, tmp_path: Path) -> Path:
    tree = make_mini_tree(linux_source, tmp_path / "tree")
    for name, body in GUARDED.items():
        _write(tree / LINUX / name, f"#ifndef _ABIGUARD_TTL_H\n#define _ABIGUARD_TTL_H\n"
                                    f"#include <linux/types.h>\n\n{body}\n#endif\n")
    _write(tree / LINUX / BROKEN[0], BROKEN[1])
    return tree


def test_partly_cached_read_equals_uncached(tree: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _read(tree, cache, use_cache=True)  # the first version fills the cache
    # The second version adds a header in another directory: its installed tree (so where it is
    # staged) differs, while the linux/ TUs, the failing chunk among them, are answered by the cache.
    _write(tree / "include/uapi/misc/abiguard_extra.h", "struct abiguard_extra {\n\tint a;\n};\n")
    warm = _read(tree, cache, use_cache=True)
    cold = _read(tree, cache, use_cache=False)
    assert warm.stats.cached > 0 and warm.stats.parsed > 0  # partly from the cache, partly parsed
    assert cold.stats.cached == 0

    linux_tus = {roots for (_, roots) in cold.stats.inputs if roots[0].startswith("linux/")}
    # The fixture does what it means to: the failing header was split off alone; the second header
    # of the guarded pair is parsed in a TU of its own, so both headers' types exist.
    assert (f"linux/{BROKEN[0]}",) in linux_tus
    assert ("linux/zzz_abiguard_ttl.h",) in linux_tus
    assert not any({f"linux/{n}" for n in GUARDED} <= set(roots) for roots in linux_tus)
    g = cold.graphs[0]
    assert g.resolve("struct abiguard_TTL_info") and g.resolve("struct abiguard_ttl_info")

    # What the reported bug broke: the cached read split the failing chunk in halves instead of taking
    # the failing header out, so its TUs, and with them which types exist, differed from a fresh read.
    for w, c in zip(warm.graphs, cold.graphs, strict=True):
        assert _named(w) == _named(c)
        assert dict(w.constants) == dict(c.constants)
    assert set(warm.stats.inputs) == set(cold.stats.inputs)
    assert warm.stats.merged_roots == cold.stats.merged_roots
