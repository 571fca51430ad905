"""Render `abiguard core` verdicts: a kernel x object matrix, then every failing relocation in C terms."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import PurePath

from ..bpf.check import Verdict
from ..bpf.resolve import ReloResult, Status


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


def render_text(verdicts: list[Verdict], objects: list[str], kernels: list[str], verbose: bool = False) -> str:
    onames, knames = _short(objects), _short(kernels)
    by = {(v.obj, v.kernel): v for v in verdicts}
    width = max([len("kernel"), *(len(knames[k]) for k in kernels)])
    cols = [max(len(onames[o]), 5) for o in objects]
    lines = [f"CO-RE check: {len(objects)} object(s) x {len(kernels)} kernel(s)", ""]
    lines.append("  ".join(["kernel".ljust(width), *(onames[o].ljust(c) for o, c in zip(objects, cols, strict=True))]))
    for k in kernels:
        cells = ["ok" if by[(o, k)].ok else "FAILS" for o in objects]
        lines.append("  ".join([knames[k].ljust(width), *(c.ljust(w) for c, w in zip(cells, cols, strict=True))]))
    for o in objects:
        for k in kernels:
            v = by[(o, k)]
            shown = v.results if verbose else v.failures
            if not shown:
                continue
            lines.append("")
            nfail = len(v.failures)
            head = f"{onames[o]} on {knames[k]}: "
            head += f"{nfail} failing relocation(s)" if nfail else f"ok ({len(v.results)} relocation(s))"
            lines.append(head)
            for r in shown:
                if r.failed or r.status != Status.OK:
                    lines.extend(_detail_lines(r))
                else:
                    tgt = f" -> {r.target}" if r.target else ""
                    lines.append(f"  {_where(r)}: {_value_text(r)}  [{r.local_spec or r.local_type}{tgt}]")
    total = sum(1 for v in verdicts if not v.ok)
    lines.append("")
    lines.append("all objects relocate on all kernels" if not total else f"{total} object/kernel pair(s) fail")
    return "\n".join(lines) + "\n"


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


def render_json(verdicts: list[Verdict], objects: list[str], kernels: list[str], verbose: bool = False) -> str:
    doc = {
        "objects": objects,
        "kernels": kernels,
        "ok": all(v.ok for v in verdicts),
        "matrix": [
            {
                "object": v.obj,
                "kernel": v.kernel,
                "ok": v.ok,
                "relocations": [_relo_json(r) for r in (v.results if verbose else v.failures)],
            }
            for v in verdicts
        ],
    }
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown(verdicts: list[Verdict], objects: list[str], kernels: list[str], verbose: bool = False) -> str:
    onames, knames = _short(objects), _short(kernels)
    by = {(v.obj, v.kernel): v for v in verdicts}
    lines = ["# CO-RE relocation check", ""]
    lines.append("| kernel | " + " | ".join(f"`{_md(onames[o])}`" for o in objects) + " |")
    lines.append("|---|" + "---|" * len(objects))
    for k in kernels:
        cells = ["ok" if by[(o, k)].ok else "**fails**" for o in objects]
        lines.append(f"| `{_md(knames[k])}` | " + " | ".join(cells) + " |")
    for v in verdicts:
        shown = v.results if verbose else v.failures
        if not shown:
            continue
        lines += ["", f"## `{_md(onames[v.obj])}` on `{_md(knames[v.kernel])}`", ""]
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
