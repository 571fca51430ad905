"""Staging installed headers on disk: trees of one run share the files they have in common."""

from __future__ import annotations

import os
from pathlib import Path

from abiguard.sources.kernel.cache import UnitCache
from abiguard.sources.kernel.staging import staged

X86 = {"linux/types.h": "#include <asm/types.h>\n", "asm/types.h": "typedef int x86_only;\n",
       "linux/same.h": "struct s { int a; };\n"}
ARM = {"linux/types.h": "#include <asm/types.h>\n", "asm/types.h": "typedef int arm_only;\n",
       "linux/same.h": "struct s { int a; };\n", "linux/new.h": "struct n { int b; };\n"}


def _texts(root: Path, headers: dict[str, str]) -> dict[str, str]:
    return {rel: (root / rel).read_text() for rel in headers}


def test_same_files_are_linked_different_ones_written(tmp_path: Path) -> None:
    for cache in (None, UnitCache(tmp_path / "cache")):
        with staged(X86, cache) as first, staged(ARM, cache, [(X86, first)]) as second:
            assert _texts(first, X86) == X86 and _texts(second, ARM) == ARM
            for rel in X86:
                assert os.path.samefile(first / rel, second / rel) == (X86[rel] == ARM[rel]), rel
            # Each path of a tree is its own file: clang, which knows files by inode, sees no aliases.
            assert len({(second / rel).stat().st_ino for rel in ARM}) == len(ARM)


def test_a_link_that_fails_is_a_write(tmp_path: Path) -> None:
    """A tree named as alike that is not there (or on another file system): the files are written."""
    with staged(ARM, None, [(X86, tmp_path / "gone")]) as root:
        assert _texts(root, ARM) == ARM
        assert all((root / rel).stat().st_nlink == 1 for rel in ARM)
