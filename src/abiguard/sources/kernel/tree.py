"""Reading a kernel tree's files: from a work tree on disk or straight from a git ref's objects."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ...errors import AbiguardError
from ...fileio import read_file

# What headers_install reads for one kernel ARCH, relative to the tree root.
UAPI_DIR = "include/uapi"
_TIMEOUT = 300  # seconds; git on a huge repo is slow, but never hang forever


def arch_paths(karch: str) -> tuple[str, ...]:
    """Paths (dirs or files) the headers_install emulation needs for one kernel ARCH."""
    from .syscalls import syscall_table_paths

    return (f"arch/{karch}/include/uapi", *syscall_table_paths(karch))


# Read for every arch: the UAPI, the top Makefile (version.h) and usr/include/Makefile (no-header-test).
COMMON_PATHS = (UAPI_DIR, "Makefile", "usr/include/Makefile")


@dataclass(frozen=True)
class TreeFiles:
    """File contents of a kernel tree (only the paths asked for), keyed by tree-relative path."""

    root: Path
    ref: str | None  # the ref as the user gave it
    commit: str | None  # the commit it resolved to
    files: Mapping[str, bytes]

    @property
    def label(self) -> str:
        return f"kernel:{self.root}" + (f"@{self.ref}" if self.ref else "")


def parse_spec(spec: str) -> tuple[Path, str | None]:
    """Split `kernel:PATH[@REF]` into the path and the ref (None for the work tree)."""
    if not spec.startswith("kernel:"):
        raise AbiguardError(spec, "a kernel source is written kernel:PATH or kernel:PATH@REF")
    body = spec[len("kernel:") :]
    path, ref = body, None
    if "@" in body:
        head, _, tail = body.rpartition("@")
        # A directory whose own name holds '@' is still a path, not PATH@REF.
        if not Path(body).is_dir():
            path, ref = head, tail
            if not ref:
                raise AbiguardError(spec, "empty git ref after '@'")
    if not path:
        raise AbiguardError(spec, "missing kernel tree path")
    return Path(path), ref


def read_tree(root: Path, ref: str | None, paths: Iterable[str]) -> TreeFiles:
    """Every file under `paths` (tree-relative dirs or files) from the work tree or from `ref`."""
    paths = sorted(set(paths))
    if ref is None:
        return TreeFiles(root, None, None, _read_worktree(root, paths))
    commit = resolve_ref(root, ref)
    return TreeFiles(root, ref, commit, _read_git(root, commit, paths))


def _read_worktree(root: Path, paths: list[str]) -> dict[str, bytes]:
    if not root.is_dir():
        raise AbiguardError(root, "no such kernel tree directory")
    if UAPI_DIR in paths and not (root / UAPI_DIR).is_dir():
        raise AbiguardError(root, f"not a kernel tree: no {UAPI_DIR} directory")
    files: dict[str, bytes] = {}
    for rel in paths:
        top = root / rel
        if top.is_file():
            files[rel] = read_file(top)
        elif top.is_dir():
            for p in top.rglob("*"):
                if p.is_file():
                    files[p.relative_to(root).as_posix()] = read_file(p)
    return files


def _git(root: Path, args: list[str], stdin: bytes | None = None) -> bytes:
    """Run git read-only in `root` with an argument list (never a shell); errors become AbiguardError."""
    cmd = ["git", "-C", str(root), *args]
    try:
        proc = subprocess.run(cmd, input=stdin, capture_output=True, timeout=_TIMEOUT, check=False)
    except FileNotFoundError:
        raise AbiguardError(root, "git is not installed") from None
    except subprocess.TimeoutExpired:
        raise AbiguardError(root, f"git {args[0]} did not finish in {_TIMEOUT} s") from None
    if proc.returncode != 0:
        msg = proc.stderr.decode(errors="replace").strip().splitlines()
        raise AbiguardError(root, f"git {args[0]} failed: {msg[-1] if msg else proc.returncode}")
    return proc.stdout


def resolve_ref(root: Path, ref: str) -> str:
    """The commit id `ref` names in the repository at `root`."""
    if ref.startswith("-") or any(c in ref for c in "\0\n\r"):
        raise AbiguardError(ref, "not a valid git ref")
    if not root.is_dir():
        raise AbiguardError(root, "no such kernel tree directory")
    try:
        out = _git(root, ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"])
    except AbiguardError as e:
        if "not a git repository" in e.message:
            raise AbiguardError(root, "not a git repository (needed for @REF)") from None
        raise AbiguardError(f"{root}@{ref}", "no such git ref or commit") from None
    return out.decode().strip()


def _read_git(root: Path, commit: str, paths: list[str]) -> dict[str, bytes]:
    listing = _git(root, ["ls-tree", "-r", "-z", "--full-tree", commit, "--", *paths])
    blobs: list[tuple[str, str]] = []
    for entry in listing.split(b"\0"):
        if not entry:
            continue
        meta, _, name = entry.partition(b"\t")
        mode, kind, oid = meta.split()
        # Symlinks and submodules are not headers the install would copy.
        if kind == b"blob" and mode in (b"100644", b"100755"):
            blobs.append((name.decode("utf-8", "surrogateescape"), oid.decode()))
    if UAPI_DIR in paths and not any(name.startswith(UAPI_DIR + "/") for name, _ in blobs):
        raise AbiguardError(f"{root}@{commit[:12]}", f"not a kernel tree: no {UAPI_DIR} directory")
    data = _git(root, ["cat-file", "--batch"], stdin="".join(f"{oid}\n" for _, oid in blobs).encode())
    files: dict[str, bytes] = {}
    pos = 0
    for name, oid in blobs:
        # Each answer: "<oid> blob <size>\n<content>\n".
        eol = data.index(b"\n", pos)
        header = data[pos:eol].split()
        if len(header) != 3 or header[0].decode() != oid:
            raise AbiguardError(root, f"unexpected git cat-file answer for {name}")
        size = int(header[2])
        files[name] = data[eol + 1 : eol + 1 + size]
        pos = eol + 1 + size + 1
    return files
