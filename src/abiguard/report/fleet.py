"""Fleet-shaped verdicts: kernels grouped by identical verdict per object, each group named compactly."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath

from ..bpf.check import Verdict
from ..bpf.findings import LoadFinding
from ..bpf.resolve import ReloResult
from ..sources.shipped.ident import KernelIdentity

_TOKENS = re.compile(r"\d+|\D+")


@dataclass(frozen=True)
class KernelGroup:
    """Kernels on which one object has the same verdict for the same reasons."""

    status: str  # loads / fails / unknown / relocates (load checks not run)
    kernels: tuple[str, ...]  # kernel labels, in the order given
    reasons: tuple[str, ...]  # one line per distinct finding
    sample: Verdict  # the first kernel's verdict, for details


def relo_summary(r: ReloResult) -> str:
    """A relocation failure without kernel-specific type ids, so kernels failing alike group together."""
    what = r.path or r.relo.access
    return f"CO-RE relocation {what} ({r.relo.kind.name}) in '{r.section}': {r.status.value}, {r.reason}".rstrip(", ")


def reasons(v: Verdict) -> tuple[str, ...]:
    lines = [relo_summary(r) for r in v.failures] + [f"{f.outcome.value}: {f.summary}" for f in v.load]
    return tuple(dict.fromkeys(lines))


def group_verdicts(verdicts: Sequence[Verdict], labels: dict[str, str]) -> list[KernelGroup]:
    """Groups of one object's verdicts: failing groups first, then unknown, then loads; larger groups first."""
    buckets: dict[tuple[str, tuple[str, ...]], list[Verdict]] = {}
    # A fleet's verdicts share their result and finding objects: status and reasons once per combination
    # (the objects stay alive in `verdicts`, so their ids name them for the whole call).
    seen: dict[tuple[object, ...], tuple[str, tuple[str, ...]]] = {}
    for v in verdicts:
        same = (v.load_checked, *map(id, v.results), None, *map(id, v.load))
        bucket = seen.get(same)
        if bucket is None:
            bucket = seen[same] = (v.status, reasons(v))
        buckets.setdefault(bucket, []).append(v)
    order = {"fails": 0, "unknown": 1, "relocates": 2, "loads": 3}
    groups = [
        KernelGroup(status, tuple(labels[v.kernel] for v in vs), why, vs[0])
        for (status, why), vs in buckets.items()
    ]
    return sorted(groups, key=lambda g: (order[g.status], -len(g.kernels), g.kernels))


def kernel_labels(kernels: Sequence[str], identities: Sequence[KernelIdentity]) -> dict[str, str]:
    """Report names: the release where known, else the file name, else the full source; always unique."""
    ident = dict(zip(kernels, identities, strict=False))
    base = {k: (ident[k].release if k in ident and ident[k].release else PurePath(k.split(":")[-1]).name or k)
            for k in kernels}
    counts: dict[str, int] = {}
    for b in base.values():
        counts[b] = counts.get(b, 0) + 1
    return {k: (b if counts[b] == 1 else k) for k, b in base.items()}


def span(labels: Sequence[str]) -> str:
    """`6.1.0-47..49-cloud-amd64` for labels differing in one number forming a run; else a short list."""
    if len(labels) == 1:
        return labels[0]
    split = [_TOKENS.findall(x) for x in labels]
    shape = len(split[0])
    if all(len(s) == shape for s in split):
        diff = [i for i in range(shape) if len({s[i] for s in split}) > 1]
        if len(diff) == 1 and all(s[diff[0]].isdigit() for s in split):
            i = diff[0]
            nums = sorted(int(s[i]) for s in split)
            if nums == list(range(nums[0], nums[0] + len(nums))):
                head, tail = "".join(split[0][:i]), "".join(split[0][i + 1 :])
                return f"{head}{nums[0]}..{nums[-1]}{tail}"
    shown = ", ".join(labels[:4])
    return shown if len(labels) <= 4 else f"{shown} and {len(labels) - 4} more"


def traits(kernels: Sequence[str], labels: dict[str, str], identities: Sequence[KernelIdentity],
           all_kernels: Sequence[str]) -> str:
    """`3 kernels, cloud-amd64/rt-amd64, x86_64`: count, then flavours and arches where known."""
    ident = {labels[k]: i for k, i in zip(all_kernels, identities, strict=False)}
    flavours = sorted({ident[k].flavour for k in kernels if k in ident and ident[k].flavour})
    arches = sorted({ident[k].arch for k in kernels if k in ident and ident[k].arch})
    parts = [f"{len(kernels)} kernel" + ("s" if len(kernels) != 1 else "")]
    if flavours:
        parts.append("/".join(flavours))
    if arches:
        parts.append("/".join(arches))
    return ", ".join(parts)


def finding_json(f: LoadFinding) -> dict[str, object]:
    return {
        "check": f.check.value,
        "outcome": f.outcome.value,
        "section": f.section,
        "insn": f.insn,
        "function": f.func,
        "subject": f.subject,
        "message": f.message,
        "source": None if f.line is None else {"file": f.line.file, "line": f.line.line, "text": f.line.text},
    }
