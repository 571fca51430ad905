"""kernel:PATH@REF: two refs of a scratch repo read from the object store, the work tree untouched."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from abiguard.errors import AbiguardError
from abiguard.model.target import parse_arch_list
from abiguard.sources import SourceOptions
from abiguard.sources.kernel import load_kernel

from .conftest import ABIGUARD, PTREGS_NEW, PTREGS_OLD, S390_PTRACE, git

ARCHES = "s390x,aarch64,x86_64"


def _repo_state(repo: Path) -> tuple[str, str, str, str]:
    index = hashlib.sha256((repo / ".git" / "index").read_bytes()).hexdigest()
    return (git(repo, "status", "--porcelain", "--untracked-files=all"), git(repo, "rev-parse", "HEAD"),
            git(repo, "symbolic-ref", "HEAD"), index)


@pytest.mark.slow
def test_two_refs_differ_only_on_s390x(uapi_repo: Path, kernel_cache_dir: Path) -> None:
    """v1 vs v2: user_pt_regs grows on s390x only; the work tree, index and branch stay as they were;
    the second ref re-parses only the s390x TUs that read the changed header."""
    (uapi_repo / "untracked.txt").write_text("the user's own file\n")
    before = _repo_state(uapi_repo)
    targets = parse_arch_list(ARCHES)
    old = load_kernel(f"kernel:{uapi_repo}@v1", targets, SourceOptions(), cache_root=kernel_cache_dir)
    new = load_kernel(f"kernel:{uapi_repo}@v2", targets, SourceOptions(), cache_root=kernel_cache_dir)
    assert _repo_state(uapi_repo) == before
    assert (uapi_repo / "untracked.txt").read_text() == "the user's own file\n"

    assert [g.source for g in new.graphs] == [f"kernel:{uapi_repo}@v2"] * 3
    for g_old, g_new in zip(old.graphs, new.graphs, strict=True):
        t_old, t_new = g_old.resolve("struct bpf_perf_event_data"), g_new.resolve("struct bpf_perf_event_data")
        grew = g_new.size_of(t_new) - g_old.size_of(t_old)
        if g_new.target.name == "s390x":
            assert grew == 8
            regs_old, regs_new = g_old.resolve("user_pt_regs"), g_new.resolve("user_pt_regs")
            assert g_new.size_of(regs_new) == g_old.size_of(regs_old) + 8
            names = [m.name for m in g_new[g_new.strip(regs_new)].members]
            assert names[-1] == "orig_gpr2"
        else:
            assert grew == 0
            assert g_new.size_of(t_new) == g_old.size_of(t_old)

    # Only TUs that read asm/ptrace.h on s390x were parsed again for v2.
    assert new.stats.parsed > 0
    assert {arch for arch, _ in new.stats.parsed_roots} == {"s390x"}
    assert new.stats.parsed < new.stats.parsed + new.stats.cached


def test_worktree_is_not_a_ref(uapi_repo: Path, tmp_path: Path) -> None:
    """kernel:PATH reads the work tree as it is, uncommitted edits included."""
    from abiguard.sources.kernel.tree import read_tree

    tree = read_tree(uapi_repo, None, [S390_PTRACE])
    assert PTREGS_NEW.encode() in tree.files[S390_PTRACE]
    v1 = read_tree(uapi_repo, "v1", [S390_PTRACE])
    assert PTREGS_OLD.encode() in v1.files[S390_PTRACE]
    assert v1.commit == git(uapi_repo, "rev-parse", "v1^{commit}").strip()


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("no-such-ref", "no such git ref or commit"),
        ("--upload-pack=touch /tmp/abiguard-pwned", "not a valid git ref"),
        ("-h", "not a valid git ref"),
        ("0123456789abcdef0123456789abcdef01234567", "no such git ref or commit"),
    ],
)
def test_bad_refs(uapi_repo: Path, ref: str, message: str) -> None:
    with pytest.raises(AbiguardError) as err:
        load_kernel(f"kernel:{uapi_repo}@{ref}", parse_arch_list("s390x"), SourceOptions(use_cache=False))
    assert message in err.value.message
    assert not Path("/tmp/abiguard-pwned").exists()


def test_cli_missing_ref_is_one_line_exit_2(uapi_repo: Path) -> None:
    proc = subprocess.run([str(ABIGUARD), "layout", "bpf_perf_event_data", f"kernel:{uapi_repo}@nope",
                           "--arch", "s390x"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("abiguard: error: ") and "no such git ref" in lines[0]


def test_not_a_repo_and_not_a_tree(tmp_path: Path, uapi_repo: Path) -> None:
    plain = tmp_path / "plain"
    (plain / "include" / "uapi").mkdir(parents=True)
    with pytest.raises(AbiguardError, match="not a git repository"):
        load_kernel(f"kernel:{plain}@HEAD", parse_arch_list("x86_64"), SourceOptions(use_cache=False))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(AbiguardError, match="no include/uapi"):
        load_kernel(f"kernel:{empty}", parse_arch_list("x86_64"), SourceOptions(use_cache=False))
    with pytest.raises(AbiguardError, match="no such kernel tree"):
        load_kernel(f"kernel:{tmp_path / 'missing'}", parse_arch_list("x86_64"), SourceOptions(use_cache=False))
    # A commit of some other project: the ref exists, the tree is not a kernel's.
    other = tmp_path / "other"
    other.mkdir()
    (other / "README").write_text("not a kernel\n")
    git(other, "init", "-q")
    git(other, "add", ".")
    git(other, "commit", "-q", "-m", "x")
    with pytest.raises(AbiguardError, match="no include/uapi"):
        load_kernel(f"kernel:{other}@HEAD", parse_arch_list("x86_64"), SourceOptions(use_cache=False))
    # The tree lacks the requested arch.
    with pytest.raises(AbiguardError, match="no arch/s390/include/uapi"):
        load_kernel(f"kernel:{plain}", parse_arch_list("s390x"), SourceOptions(use_cache=False))
