"""Render `abiguard core` verdicts: per object, kernels grouped by verdict with every reason in C terms."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import PurePath

from ..bpf.check import Verdict
from ..bpf.findings import LoadFinding
from ..bpf.resolve import ReloResult, Status
from ..bpf.run import CoreResult
from .fleet import finding_json, group_verdicts, kernel_labels, span, traits


def _short(names: Sequence[str]) -> dict[str, str]:
    """Display names: the file name where that is unambiguous, else the full label."""
    base = {n: PurePath(n.split(":")[-1]).name or n for n in names}
    counts: dict[str, int] = {}
    for b in base.values():
        counts[b] = counts.get(b, 0) + 1
    return {n: (b if counts[b] == 1 else n) for n, b in base.items()}


def _effect(r: ReloResult) -> str:
    if r.status == Status.ERROR:
        return "libbpf rejects the relocation: the object fails to load"
    if r.status == Status.POISONED:
        if r.reachable:
            return "instruction poisoned and reachable: the verifier rejects the program"
        return "instruction poisoned but unreachable (guarded): dead code the verifier drops"
    if r.status == Status.ZERO:
        return "relocation yields 0 (not found)"
    return f"value {r.new_val}"


def _value_text(r: ReloResult) -> str:
    kind = r.relo.kind.name.lower()
    if r.status == Status.OK:
        return f"{kind} = {r.new_val}"
    if r.status == Status.ZERO:
        return f"{kind} = 0 (not found)"
    return f"{kind}: {r.status.value}"


def _where(r: ReloResult) -> str:
    func = f" in {r.func}()" if r.func else ""
    return f"section '{r.section}' insn #{r.relo.insn_off // 8} (byte {r.relo.insn_off}){func}"


def _detail_lines(r: ReloResult, indent: str = "    ") -> list[str]:
    out = [f"  {_where(r)}: {r.relo.kind.name} ({r.relo.kind.label})"]
    if r.path:
        member = f"  ({r.member})" if r.member else ""
        out.append(f"{indent}access   {r.path}{member}")
    out.append(f"{indent}local    {r.local_spec or r.local_type} [{r.relo.type_id}] access '{r.relo.access}'")
    if r.target:
        out.append(f"{indent}target   {r.target}")
    elif r.candidates:
        out.append(f"{indent}target   candidates: {', '.join(r.candidates)}")
    else:
        out.append(f"{indent}target   no candidate type")
    if r.reason:
        out.append(f"{indent}why      {r.reason}")
    out.append(f"{indent}effect   {_effect(r)}")
    if r.line is not None and r.line.text:
        out.append(f"{indent}source   {r.line.file}:{r.line.line}: {r.line.text.strip()}")
    return out


def _finding_lines(f: LoadFinding, indent: str = "      ") -> list[str]:
    out = [f"{indent}at {f.where()}"]
    if f.source():
        out.append(f"{indent}source {f.source()}")
    return out


def render_text(result: CoreResult, verbose: bool = False) -> str:
    verdicts, objects, kernels = list(result.verdicts), list(result.objects), list(result.kernels)
    onames, labels = _short(objects), kernel_labels(kernels, result.identities)
    lines = [f"Load check: {len(objects)} object(s) x {len(kernels)} kernel(s)"]
    if len(kernels) <= 12:
        width = max([len("kernel"), *(len(labels[k]) for k in kernels)])
        cols = [max(len(onames[o]), 7) for o in objects]
        by = {(v.obj, v.kernel): v for v in verdicts}
        head = ["kernel".ljust(width), *(onames[o].ljust(c) for o, c in zip(objects, cols, strict=True))]
        lines += ["", "  ".join(head)]
        for k in kernels:
            cells = [_CELL[by[(o, k)].status] for o in objects]
            lines.append("  ".join([labels[k].ljust(width), *(c.ljust(w) for c, w in zip(cells, cols, strict=True))]))
    by_object: dict[str, list[Verdict]] = {o: [] for o in objects}
    for v in verdicts:
        by_object[v.obj].append(v)
    totals = {"fails": 0, "unknown": 0, "relocates": 0, "loads": 0}
    for o in objects:
        mine = by_object[o]
        groups = group_verdicts(mine, labels)
        named = [(g, span(g.kernels), traits(g.kernels, labels, result.identities, kernels)) for g in groups]
        counts = ", ".join(f"{g.status} on {where} ({who})" for g, where, who in named if g.status != "loads")
        loads = sum(len(g.kernels) for g in groups if g.status == "loads")
        lines += ["", f"{onames[o]}: loads on {loads} of {len(mine)} kernel(s)" + (f"; {counts}" if counts else "")]
        for g, where, who in named:
            totals[g.status] += len(g.kernels)
            if g.status in ("loads", "relocates"):
                continue
            lines.append(f"  {g.status} on {where} ({who}):")
            for r in g.sample.failures:
                lines.extend("  " + x for x in _detail_lines(r))
            by_summary: dict[str, list[LoadFinding]] = {}
            for f in g.sample.load:
                by_summary.setdefault(f"{f.outcome.value}: {f.summary}", []).append(f)
            for head, same in by_summary.items():
                lines.append(f"    {head}")
                lines.extend(_finding_lines(same[0]))
                if len(same) > 1:
                    lines.append(f"      and {len(same) - 1} more place(s) (--format json lists each)")
        if verbose:
            for v in mine:
                ok = [r for r in v.results if not r.failed]
                if not ok:
                    continue
                lines.append(f"  relocations on {labels[v.kernel]}:")
                for r in ok:
                    if r.status != Status.OK:
                        lines.extend("  " + x for x in _detail_lines(r))
                        continue
                    tgt = f" -> {r.target}" if r.target else ""
                    lines.append(f"    {_where(r)}: {_value_text(r)}  [{r.local_spec or r.local_type}{tgt}]")
    fails, unknown, relocates = totals["fails"], totals["unknown"], totals["relocates"]
    lines.append("")
    if relocates and not fails:
        lines.append(f"{relocates} object/kernel pair(s) relocate (load checks not run), {unknown} unknown")
    elif not fails and not unknown:
        lines.append("every object loads on every kernel")
    else:
        lines.append(f"{fails} object/kernel pair(s) fail, {unknown} unknown, of {len(verdicts)}")
    return "\n".join(lines) + "\n"


_CELL = {"loads": "loads", "fails": "FAILS", "unknown": "unknown", "relocates": "relocates"}


def _relo_json(r: ReloResult) -> dict[str, object]:
    return {
        "section": r.section,
        "function": r.func,
        "index": r.relo.index,
        "insn_off": r.relo.insn_off,
        "insn": r.relo.insn_off // 8,
        "kind": r.relo.kind.name,
        "local_type": r.local_type,
        "local_type_id": r.relo.type_id,
        "access": r.relo.access,
        "path": r.path,
        "member": r.member,
        "local_spec": r.local_spec,
        "target": r.target,
        "candidates": list(r.candidates),
        "status": r.status.value,
        "failed": r.failed,
        "reachable": r.reachable,
        "reason": r.reason,
        "orig_value": r.orig_val,
        "value": r.new_val,
        "used": sorted([t, m] for t, m in r.used if m is not None) + sorted([t, None] for t, m in r.used if m is None),
        "source": None if r.line is None else {"file": r.line.file, "line": r.line.line, "text": r.line.text},
    }


def render_json(result: CoreResult, verbose: bool = False) -> str:
    verdicts, objects, kernels = list(result.verdicts), list(result.objects), list(result.kernels)
    labels = kernel_labels(kernels, result.identities)
    idents = dict(zip(kernels, result.identities, strict=False))
    doc = {
        "objects": objects,
        "kernels": [
            {"source": k, "label": labels[k], **({} if k not in idents else {
                "release": idents[k].release, "arch": idents[k].arch, "flavour": idents[k].flavour,
                "version": idents[k].version})}
            for k in kernels
        ],
        "ok": all(v.ok for v in verdicts),
        "groups": [
            {
                "object": o,
                "status": g.status,
                "kernels": [k for k in kernels if labels[k] in g.kernels],
                "span": span(g.kernels),
                "reasons": list(g.reasons),
            }
            for o in objects
            for g in group_verdicts([v for v in verdicts if v.obj == o], labels)
        ],
        "matrix": [
            {
                "object": v.obj,
                "kernel": v.kernel,
                "status": v.status,
                "ok": v.ok,
                "relocations": [_relo_json(r) for r in (v.results if verbose else v.failures)],
                "load": [finding_json(f) for f in v.load],
            }
            for v in verdicts
        ],
    }
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown(result: CoreResult, verbose: bool = False) -> str:
    verdicts, objects, kernels = list(result.verdicts), list(result.objects), list(result.kernels)
    onames, labels = _short(objects), kernel_labels(kernels, result.identities)
    lines = ["# BPF load check", ""]
    lines.append("| object | kernels | verdict | why |")
    lines.append("|---|---|---|---|")
    for o in objects:
        for g in group_verdicts([v for v in verdicts if v.obj == o], labels):
            verdict = "**fails**" if g.status == "fails" else g.status
            who = f"{_md(span(g.kernels))} ({_md(traits(g.kernels, labels, result.identities, kernels))})"
            why = "<br>".join(_md(r) for r in g.reasons) or "-"
            lines.append(f"| `{_md(onames[o])}` | {who} | {verdict} | {why} |")
    for v in verdicts:
        shown = v.results if verbose else v.failures
        if not shown and not v.load:
            continue
        lines += ["", f"## `{_md(onames[v.obj])}` on `{_md(labels[v.kernel])}`: {v.status}", ""]
        if v.load:
            lines.append("| check | outcome | where | what | source |")
            lines.append("|---|---|---|---|---|")
            for f in v.load:
                lines.append(
                    f"| {f.check.value} | {f.outcome.value} | {_md(f.where())} | {_md(f.subject)}: {_md(f.message)} "
                    f"| {_md(f.source())} |"
                )
            lines.append("")
        if not shown:
            continue
        lines.append("| insn | section | kind | access | local type | status | why / value |")
        lines.append("|---|---|---|---|---|---|---|")
        for r in shown:
            why = r.reason if r.status != Status.OK else str(r.new_val)
            status = r.status.value + (" (unreachable)" if r.status == Status.POISONED and not r.reachable else "")
            access = _md(r.path or r.relo.access)
            lines.append(
                f"| {r.relo.insn_off // 8} | `{_md(r.section)}` | {r.relo.kind.name} | `{access}` "
                f"| `{_md(r.local_type)}` | {status} | {_md(why)} |"
            )
    return "\n".join(lines) + "\n"


RENDERERS = {"text": render_text, "json": render_json, "markdown": render_markdown}
