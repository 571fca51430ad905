"""False alarms on real UAPI history: replay a public git history of synced kernel UAPI headers (e.g.
libbpf's include/uapi/linux) overlaid on the Linux 6.1 tree one upstream commit at a time, and diff
every consecutive pair on several arches.

Prints, per pair, the upstream commit, the verdict and every breaking finding (arches, type, member,
kind, message), then a summary. Every breaking verdict should be a real break upstream (an
enumerator renumbered, a definition removed); anything else is noise. Needs no network: HISTORY is
a local git directory (bare or not).

    python benchmarks/history_noise.py HISTORY [--tree DIR] [--commits 100] [--until REV]
        [--arch x86_64,i386,aarch64,s390x] [--path include/uapi/linux] [--work DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from abiguard.compare import run_diff
from abiguard.compare.findings import DiffResult, Severity
from abiguard.errors import AbiguardError
from abiguard.model import KERNEL_ARCHES, TypeGraph
from abiguard.model.target import parse_arch_list
from abiguard.sources import SourceOptions, load_source
from abiguard.sources.kernel.tree import COMMON_PATHS, UAPI_DIR, arch_paths

DEFAULT_TREE = Path.home() / ".cache" / "abiguard-tests" / "linux-source-6.1"
DEFAULT_ARCHES = "x86_64,i386,aarch64,s390x"
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "history-noise", "GIT_AUTHOR_EMAIL": "history-noise@abiguard.invalid",
    "GIT_COMMITTER_NAME": "history-noise", "GIT_COMMITTER_EMAIL": "history-noise@abiguard.invalid",
    "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent",
}


@dataclass(frozen=True)
class Upstream:
    """One upstream commit touching the synced headers."""

    commit: str
    subject: str


def git(args: list[str], cwd: Path | None = None, git_dir: Path | None = None, stdin: bytes | None = None) -> bytes:
    """Run git with a fixed identity and no user config; raise with git's message on failure."""
    cmd = ["git", *(["--git-dir", str(git_dir)] if git_dir else []), "-c", "commit.gpgsign=false", *args]
    proc = subprocess.run(cmd, cwd=cwd, input=stdin, capture_output=True, env={**os.environ, **_GIT_ENV})
    if proc.returncode != 0:
        raise SystemExit(f"history_noise: git {' '.join(args[:3])} failed: {proc.stderr.decode().strip()}")
    return proc.stdout


def upstream_commits(history: Path, path: str, count: int, until: str) -> tuple[str, list[Upstream]]:
    """The `count` latest commits touching `path` up to `until`, oldest first, and the state before them."""
    out = git(["log", "--topo-order", "--no-merges", f"-n{count}", "--format=%H%x09%s", until, "--", path],
              git_dir=history).decode()
    commits = [Upstream(*line.split("\t", 1)) for line in out.splitlines() if line]
    commits.reverse()
    if not commits:
        raise SystemExit(f"history_noise: no commit touches {path} in {history}")
    base = git(["rev-parse", f"{commits[0].commit}^"], git_dir=history).decode().strip()
    return base, commits


def synced_files(history: Path, commit: str, path: str) -> dict[str, bytes]:
    """The headers directly under `path` at `commit`, by file name."""
    listing = git(["ls-tree", "-z", commit, "--", f"{path}/"], git_dir=history)
    blobs = []
    for entry in listing.split(b"\0"):
        meta, _, name = entry.partition(b"\t")
        if entry and meta.split()[1] == b"blob" and name.endswith(b".h"):
            blobs.append((Path(name.decode()).name, meta.split()[2].decode()))
    data = git(["cat-file", "--batch"], git_dir=history, stdin="".join(f"{oid}\n" for _, oid in blobs).encode())
    files, pos = {}, 0
    for name, _ in blobs:
        eol = data.index(b"\n", pos)
        size = int(data[pos:eol].split()[2])
        files[name] = data[eol + 1 : eol + 1 + size]
        pos = eol + 1 + size + 1
    return files


def build_overlay(tree: Path, history: Path, path: str, states: list[str], repo: Path) -> list[str]:
    """A scratch repo: what the kernel reader reads from `tree`, one commit per upstream state with the
    synced headers replacing the tree's include/uapi/linux copies. Returns the scratch commit ids."""
    wanted = {*COMMON_PATHS}
    for karch in KERNEL_ARCHES:
        wanted.update(arch_paths(karch))
    for rel in sorted(wanted):
        src = tree / rel
        if src.is_dir():
            shutil.copytree(src, repo / rel, dirs_exist_ok=True)
        elif src.is_file():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, repo / rel)
    linux_dir = repo / UAPI_DIR / "linux"
    original = {p.name: p.read_bytes() for p in linux_dir.glob("*.h")}
    git(["init", "-q", "-b", "main"], cwd=repo)
    ids: list[str] = []
    overlaid: set[str] = set()
    for state in states:
        files = synced_files(history, state, path)
        # A header that left the synced set goes back to the tree's own copy (or away if the tree had none).
        for name in overlaid - files.keys():
            if name in original:
                (linux_dir / name).write_bytes(original[name])
            else:
                (linux_dir / name).unlink()
        for name, text in files.items():
            (linux_dir / name).write_bytes(text)
        overlaid = set(files)
        git(["add", "-A"], cwd=repo)
        git(["commit", "-q", "--allow-empty", "-m", f"upstream {state}"], cwd=repo)
        ids.append(git(["rev-parse", "HEAD"], cwd=repo).decode().strip())
    return ids


def breaking_lines(result: DiffResult) -> list[str]:
    """Each breaking finding once, with the arches it holds on."""
    order = {a: i for i, a in enumerate(result.arches)}
    grouped: dict[tuple[str, str, str, str], list[str]] = {}
    for f in result.findings:
        if f.severity == Severity.BREAKING and f.waived_by is None:
            grouped.setdefault((f.type, f.member or "-", f.kind, f.message), []).append(f.arch)
    lines = []
    for (type_name, member, kind, message), arches in sorted(grouped.items()):
        arch_list = ",".join(sorted(set(arches), key=order.__getitem__))
        lines.append(f"[{arch_list}] {type_name} | {member} | {kind} | {message}")
    return lines


def side_notes(result: DiffResult) -> list[str]:
    """Reader diagnostics that hold for one version only (a header that started or stopped compiling)."""
    return [e for e in result.errors if e.startswith(("OLD ", "NEW "))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("history", type=Path, help="git directory of the UAPI history (e.g. a bare libbpf clone)")
    ap.add_argument("--tree", type=Path, default=DEFAULT_TREE, help="Linux tree the headers are overlaid on")
    ap.add_argument("--commits", type=int, default=100, help="how many consecutive upstream commits")
    ap.add_argument("--until", default="HEAD", help="newest upstream revision to replay")
    ap.add_argument("--path", default="include/uapi/linux", help="synced header directory in HISTORY")
    ap.add_argument("--arch", default=DEFAULT_ARCHES)
    ap.add_argument("--work", type=Path, help="directory for the scratch repo (default: a temporary one)")
    args = ap.parse_args()
    if not (args.tree / UAPI_DIR).is_dir():
        raise SystemExit(f"history_noise: {args.tree}: not a kernel tree (run the test suite once to extract 6.1)")
    targets = parse_arch_list(args.arch)
    base, commits = upstream_commits(args.history, args.path, args.commits, args.until)
    with tempfile.TemporaryDirectory(prefix="abiguard-history-") as tmp:
        repo = args.work or Path(tmp) / "overlay"
        if repo.exists() and any(repo.iterdir()):
            raise SystemExit(f"history_noise: {repo}: not empty")
        repo.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        ids = build_overlay(args.tree, args.history, args.path, [base] + [c.commit for c in commits], repo)
        print(f"overlay of {len(commits)} commits of {args.history} on {args.tree} built in "
              f"{time.perf_counter() - start:.1f} s; arches {', '.join(t.name for t in targets)}")
        previous: list[TypeGraph] = load_source(f"kernel:{repo}@{ids[0]}", targets, SourceOptions())
        verdicts: dict[Severity, int] = {}
        breaking: list[str] = []
        errors: list[str] = []
        for n, (upstream, scratch) in enumerate(zip(commits, ids[1:], strict=True), 1):
            start = time.perf_counter()
            try:
                current = load_source(f"kernel:{repo}@{scratch}", targets, SourceOptions())
                result = run_diff(previous, current)
            except AbiguardError as e:
                print(f"[{n:3}/{len(commits)}] {upstream.commit[:12]} {upstream.subject}\n      error: {e}")
                errors.append(f"{upstream.commit[:12]} {upstream.subject}: {e}")
                continue
            verdict = result.verdict
            verdicts[verdict] = verdicts.get(verdict, 0) + 1
            print(f"[{n:3}/{len(commits)}] {upstream.commit[:12]} {upstream.subject}\n"
                  f"      verdict: {verdict.label} ({len(result.findings)} findings, "
                  f"{time.perf_counter() - start:.1f} s)")
            for line in breaking_lines(result):
                print(f"      BREAKING {line}")
            for note in side_notes(result) if verdict == Severity.BREAKING else ():
                print(f"      note: {note}")
            if verdict == Severity.BREAKING:
                breaking.append(f"{upstream.commit[:12]} {upstream.subject}")
            previous = current
            sys.stdout.flush()
    print(f"\nsummary: {len(commits)} pairs, {verdicts.get(Severity.BREAKING, 0)} breaking verdicts, "
          f"{len(errors)} errors; "
          + ", ".join(f"{s.label} {verdicts[s]}" for s in sorted(verdicts, reverse=True)))
    for line in breaking:
        print(f"  breaking: {line}")
    for line in errors:
        print(f"  error: {line}")
    return 2 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
