"""The Markdown report, made for a pull-request comment: verdict line, a table per severity, chains folded."""

from __future__ import annotations

from html import escape as _html

from ..compare.findings import DiffResult, Severity
from .grouping import MergedFinding, format_value, group_by_root, merge_findings, severity_order, summarize

# A pull-request comment is limited in size (GitHub: 65536 characters); reader notes can be thousands.
MAX_ERRORS = 50
_ICONS = {
    Severity.BREAKING: "\u274c",  # red cross
    Severity.REVIEW: "\u26a0\ufe0f",  # warning sign
    Severity.API: "\u2139\ufe0f",  # information
    Severity.COMPATIBLE: "\u2705",  # check mark
    Severity.IDENTICAL: "\u2705",
}


def cell(text: str) -> str:
    """Text safe inside a table cell: no pipes, newlines or markup that GitHub would interpret."""
    out = text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")
    for ch in "`*_[]<>#~":
        out = out.replace(ch, "\\" + ch)
    return out


def code(text: str) -> str:
    """Inline code span; a pipe is escaped (GFM tables split on it even inside code spans)."""
    if not text:
        return ""
    body = text.replace("|", "\\|").replace("\n", " ")
    # A backtick inside needs a longer fence and padding spaces (CommonMark); C names never have runs of two.
    return f"`` {body} ``" if "`" in body else f"`{body}`"


def render(result: DiffResult, color: bool = False) -> str:
    """GitHub-flavoured Markdown; `color` is ignored."""
    merged = merge_findings(result.findings, result.arches)
    summary = summarize(result, merged)
    verdict = summary.verdict
    out: list[str] = []
    where = ""
    if verdict is not Severity.IDENTICAL:
        arches = summary.affected.get(verdict, ())
        where = f" on {', '.join(arches)}" if arches and set(arches) != set(result.arches) else " on all arches"
    out.append(f"## {_ICONS[verdict]} abiguard: **{verdict.label}**{where}")
    out.append("")
    counts = ", ".join(f"{summary.counts[s]} {s.label}" for s in severity_order())
    waived = f", {summary.waived} waived" if summary.waived else ""
    out.append(f"Checked {len(result.arches)} arches ({cell(', '.join(result.arches))}): {counts}{waived}.")
    for sev in severity_order():
        rows = [m for m in merged if m.severity is sev and m.waived_by is None]
        if rows:
            out.extend(_table(f"{_ICONS[sev]} {sev.label.capitalize()} ({len(rows)})", rows))
    waived_rows = [m for m in merged if m.waived_by is not None]
    if waived_rows:
        out.extend(_table(f"Waived ({len(waived_rows)})", waived_rows, waived=True))
    groups = [g for g in group_by_root(result.findings, result.arches) if any(len(e.chain) > 1 for e in g.entries)]
    if groups:
        out.append("")
        out.append("### Impact chains")
        for g in groups:
            out.append("")
            out.append(f"<details><summary>{_html(g.root)} \u2014 {g.severity.label}, "
                       f"{_html(_arch_text(g.arches, result.arches))}</summary>")
            out.append("")
            for e in g.entries:
                if len(e.chain) > 1:
                    chain = " \u2192 ".join(code(c) for c in e.chain)
                    out.append(f"- {code(e.target)} ({cell(e.kind)} {cell(e.change)}) ({cell(e.arch_label())}): "
                               f"{chain}")
            out.append("")
            out.append("</details>")
    if result.errors:
        out.append("")
        out.append(f"<details><summary>Errors ({len(result.errors)})</summary>")
        out.append("")
        out.extend(f"- {cell(e)}" for e in result.errors[:MAX_ERRORS])
        if len(result.errors) > MAX_ERRORS:
            out.append(f"- \u2026 and {len(result.errors) - MAX_ERRORS} more (the JSON report lists all)")
        out.append("")
        out.append("</details>")
    return "\n".join(out) + "\n"


def _table(title: str, rows: list[MergedFinding], waived: bool = False) -> list[str]:
    out = ["", f"### {title}", "", "| Type | Change | Old \u2192 New | Arches | Details |", "|---|---|---|---|---|"]
    for m in rows:
        both = m.old is not None and m.new is not None
        change = f"{cell(format_value(m.old))} \u2192 {cell(format_value(m.new))}" if both else cell(m.change)
        detail = m.message if not waived else f"{m.message} (waived: {m.waived_by})"
        out.append(f"| {code(m.target)} | {cell(m.kind)} | {change} | {cell(m.arch_label())} | {cell(detail)} |")
    return out


def _arch_text(arches: tuple[str, ...], universe: list[str]) -> str:
    return "all arches" if set(universe) <= set(arches) else "only on: " + ", ".join(arches)
