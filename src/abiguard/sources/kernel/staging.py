"""Installed headers on disk for libclang: a content-addressed directory that runs can share."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from .cache import UnitCache, digest


def tree_digest(headers: Mapping[str, str]) -> str:
    """One hash over every installed path and text."""
    return digest(*(f"{p}\0{t}" for p, t in sorted(headers.items())))


# A directory already staged in this run and the headers it holds: most of another kernel arch's
# installed headers (all but asm/) are the same files.
Staged = tuple[Mapping[str, str], Path]


def _write_all(root: Path, headers: Mapping[str, str], alike: Sequence[Staged] = ()) -> None:
    # Plain os calls, each directory made once: a multi-arch read stages some 8,000 files. A header
    # with the same path and text in a tree staged before is hard-linked to it: creating an inode
    # costs some 40 times a link here (0.5 ms), a tenth of a cold 15-arch read. Files are never
    # written after staging, and one TU only ever reads one tree, so no parse sees the sharing.
    base = str(root)
    made: set[str] = set()
    for rel, text in headers.items():
        path = os.path.join(base, rel)
        parent = os.path.dirname(path)
        if parent not in made:
            os.makedirs(parent, exist_ok=True)
            made.add(parent)
        if any(_linked(other, rel, text, path) for other in alike):
            continue
        with open(path, "wb") as f:
            f.write(text.encode("utf-8", "surrogateescape"))


def _linked(other: Staged, rel: str, text: str, path: str) -> bool:
    """Hard-link `path` to the same header in `other` when its text is the same; False when it is
    not, or the link fails (another file system, a link limit): the caller writes the file then."""
    headers, root = other
    if headers.get(rel) != text:
        return False
    try:
        os.link(os.path.join(root, rel), path)
    except OSError:
        return False
    return True


def stage_in_cache(cache_root: Path, headers: Mapping[str, str], alike: Sequence[Staged] = ()) -> Path:
    """`<cache>/trees/<digest>` holding `headers`; written to a temp dir and renamed, so it is whole or absent."""
    final = cache_root / "trees" / tree_digest(headers)
    if final.is_dir():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=".stage-"))
    try:
        _write_all(tmp, headers, alike)
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.is_dir():  # not a concurrent run that got there first: a real failure
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


@contextlib.contextmanager
def staged(headers: Mapping[str, str], cache: UnitCache | None, alike: Sequence[Staged] = ()) -> Iterator[Path]:
    """A directory holding `headers`: shared in the cache, or a temp dir removed afterwards (--no-cache,
    or a cache that cannot be written: the first failure stops the run's writes, see UnitCache).
    `alike`: trees staged before that stay in place meanwhile, whose same files are linked."""
    shared = None
    if cache is not None:
        final = cache.root / "trees" / tree_digest(headers)
        if final.is_dir():
            shared = final
        elif cache.writable:
            try:
                shared = stage_in_cache(cache.root, headers, alike)
            except OSError as e:
                cache.stop_writing(e)
    if shared is not None:
        yield shared
        return
    with tempfile.TemporaryDirectory(prefix="abiguard-kernel-") as tmp:
        _write_all(Path(tmp), headers, alike)
        yield Path(tmp)
