"""A scratch git repo holding the UAPI parts of the Linux 6.1 tree, with the 2022 change and its fixes."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from abiguard.model import KERNEL_ARCHES
from abiguard.sources.kernel.tree import COMMON_PATHS, arch_paths

S390_PTRACE = "arch/s390/include/uapi/asm/ptrace.h"
ARM64_PTRACE = "arch/arm64/include/uapi/asm/ptrace.h"
S390_BPF = "arch/s390/include/uapi/asm/bpf_perf_event.h"
ARM64_BPF = "arch/arm64/include/uapi/asm/bpf_perf_event.h"

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "abiguard tests", "GIT_AUTHOR_EMAIL": "tests@abiguard.invalid",
    "GIT_COMMITTER_NAME": "abiguard tests", "GIT_COMMITTER_EMAIL": "tests@abiguard.invalid",
    "GIT_AUTHOR_DATE": "2022-02-06T14:53:00Z", "GIT_COMMITTER_DATE": "2022-02-06T14:53:00Z",
    "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent",
}

# The 6.1 definitions the edits start from (checked, so a different tree fails loudly, not silently).
_S390_REGS_END = "\tunsigned long gprs[NUM_GPRS];\n} user_pt_regs;\n"
_ARM64_REGS_END = "\t__u64\t\tpstate;\n};\n"


def git(repo: Path, *args: str) -> str:
    """Run git in the scratch repo with a fixed identity and no user/system config."""
    env = {**os.environ, **_GIT_ENV}
    proc = subprocess.run(["git", "-C", str(repo), "-c", "commit.gpgsign=false", *args],
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout.strip()


def _replace_once(repo: Path, rel: str, old: str, new: str) -> None:
    path = repo / rel
    text = path.read_text()
    assert text.count(old) == 1, f"{rel}: expected exactly one {old!r}"
    path.write_text(text.replace(old, new))


def the_break(repo: Path) -> None:
    """The two 2022 patches: append orig_gpr2 (s390) and orig_x0 (arm64) to user_pt_regs."""
    _replace_once(repo, S390_PTRACE, _S390_REGS_END,
                  "\tunsigned long gprs[NUM_GPRS];\n\tunsigned long orig_gpr2;\n} user_pt_regs;\n")
    arm = (repo / ARM64_PTRACE).read_text()
    start = arm.index("struct user_pt_regs {")
    end = arm.index(_ARM64_REGS_END, start)
    (repo / ARM64_PTRACE).write_text(arm[:end] + "\t__u64\t\tpstate;\n\t__u64\t\torig_x0;\n};\n"
                                     + arm[end + len(_ARM64_REGS_END):])


def fix_v2(repo: Path) -> None:
    """Fix (a), Ilya's patches: leave user_pt_regs alone, add user_pt_regs_v2 and a _v2 context."""
    _replace_once(repo, S390_PTRACE, _S390_REGS_END, _S390_REGS_END + (
        "\ntypedef struct {\n\tunsigned long args[1];\n\tpsw_t psw;\n\tunsigned long gprs[NUM_GPRS];\n"
        "\tunsigned long orig_gpr2;\n} user_pt_regs_v2;\n"))
    arm = (repo / ARM64_PTRACE).read_text()
    start = arm.index("struct user_pt_regs {")
    end = arm.index(_ARM64_REGS_END, start) + len(_ARM64_REGS_END)
    v2 = ("\nstruct user_pt_regs_v2 {\n\t__u64\t\tregs[31];\n\t__u64\t\tsp;\n\t__u64\t\tpc;\n"
          "\t__u64\t\tpstate;\n\t__u64\t\torig_x0;\n};\n")
    (repo / ARM64_PTRACE).write_text(arm[:end] + v2 + arm[end:])
    ctx = "\nstruct bpf_perf_event_data_v2 {{\n\t{} regs;\n\t__u64 sample_period;\n\t__u64 addr;\n}};\n"
    for rel, regs_type in ((S390_BPF, "user_pt_regs_v2"), (ARM64_BPF, "struct user_pt_regs_v2")):
        marker = "\n#endif /* _UAPI__ASM_BPF_PERF_EVENT_H__ */"
        _replace_once(repo, rel, marker, ctx.format(regs_type) + marker)


def fix_frozen_typedef(repo: Path) -> None:
    """Fix (b), Andrii's proposal: bpf_user_pt_regs_t names its own struct with the old layout,
    while user_pt_regs grows as in the break."""
    the_break(repo)
    _replace_once(repo, S390_BPF, "typedef user_pt_regs bpf_user_pt_regs_t;",
                  "struct bpf_user_pt_regs {\n\tunsigned long args[1];\n\tpsw_t psw;\n"
                  "\tunsigned long gprs[NUM_GPRS];\n};\n\ntypedef struct bpf_user_pt_regs bpf_user_pt_regs_t;")
    _replace_once(repo, ARM64_BPF, "typedef struct user_pt_regs bpf_user_pt_regs_t;",
                  "struct bpf_user_pt_regs {\n\t__u64 regs[31];\n\t__u64 sp;\n\t__u64 pc;\n\t__u64 pstate;\n};\n\n"
                  "typedef struct bpf_user_pt_regs bpf_user_pt_regs_t;")


@dataclass(frozen=True)
class Scenario:
    """The scratch repo and the commit of each version."""

    repo: Path
    original: str
    broken: str
    v2: str
    frozen: str
    reverted: str

    def spec(self, commit: str) -> str:
        return f"kernel:{self.repo}@{commit}"


def _commit_variant(repo: Path, base: str, branch: str, edit: Callable[[Path], None], message: str) -> str:
    git(repo, "checkout", "-q", "-b", branch, base)
    edit(repo)
    git(repo, "commit", "-q", "-a", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def uapi_repo(linux: Path, repo: Path) -> str:
    """A new repo holding what the kernel reader reads of `linux`, committed once; the commit id."""
    wanted = {*COMMON_PATHS}
    for karch in KERNEL_ARCHES:
        wanted.update(arch_paths(karch))
    for rel in sorted(wanted):
        src = linux / rel
        if src.is_dir():
            shutil.copytree(src, repo / rel, dirs_exist_ok=True)
        elif src.is_file():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, repo / rel)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Linux 6.1 UAPI")
    return git(repo, "rev-parse", "HEAD")


def edit_commit(repo: Path, base: str, branch: str, edits: list[tuple[str, str, str]], message: str) -> str:
    """A commit on a new branch from `base` replacing, in each (file, old, new), the one `old` by `new`."""
    git(repo, "checkout", "-q", "-b", branch, base)
    for rel, old, new in edits:
        _replace_once(repo, rel, old, new)
    git(repo, "commit", "-q", "-a", "-m", message)
    commit = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "main")
    return commit


def build_scenario(linux: Path, repo: Path) -> Scenario:
    """Copy what the kernel reader reads into a new repo; commit the original, the break and the fixes."""
    original = uapi_repo(linux, repo)
    broken = _commit_variant(repo, original, "break", the_break, "s390, arm64: add orig_gpr2/orig_x0 to user_pt_regs")
    v2 = _commit_variant(repo, original, "fix-v2", fix_v2, "s390, arm64: introduce user_pt_regs_v2")
    frozen = _commit_variant(repo, original, "fix-frozen", fix_frozen_typedef,
                             "bpf: freeze bpf_user_pt_regs_t as its own struct; user_pt_regs grows")
    git(repo, "checkout", "-q", "-b", "revert", broken)
    git(repo, "revert", "--no-edit", broken)
    reverted = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "main")
    return Scenario(repo, original, broken, v2, frozen, reverted)
