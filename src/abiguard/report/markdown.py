"""The Markdown report, made for a pull-request comment: verdict, one line per root cause, details folded."""

from __future__ import annotations

from ..compare.findings import DiffResult, Severity
from .grouping import severity_order
from .root_causes import Piece, RootCause, detail_rows, root_causes, summarize_causes, summary_sentence

# A pull-request comment is limited in size (GitHub: 65536 characters); reader notes can be thousands.
MAX_ERRORS = 50
MAX_CAUSES = 60  # per severity; the JSON report lists all
MAX_ROWS = 200  # detail rows in all; the JSON report lists all
MAX_CHARS = 60_000  # GitHub refuses comments over 65,536 characters: the details table gives way first
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
    causes = root_causes(result)
    summary = summarize_causes(causes)
    verdict = result.verdict
    where = ""
    if verdict is not Severity.IDENTICAL:
        arches = summary.arches.get(verdict, ())
        where = f" on {', '.join(arches)}" if arches and set(arches) != set(result.arches) else " on all arches"
    out = [f"## {_ICONS[verdict]} abiguard: **{verdict.label}**{where}", ""]
    out.append(f"{summary_sentence(summary, result.arches)} ({len(result.arches)} arches checked: "
               f"{cell(', '.join(result.arches))}).")
    for sev in severity_order():
        group = [rc for rc in causes if rc.severity is sev and not rc.waived]
        if group:
            title = f"{_ICONS[sev]} {sev.label.capitalize()} ({len(group)})"
            out.extend(_section(title, group, folded=sev < Severity.REVIEW))
    waived = [rc for rc in causes if rc.waived]
    if waived:
        out.extend(_section(f"Waived ({len(waived)})", waived, folded=True))
    if causes:
        used = sum(len(line) + 1 for line in out) + min(len(result.errors), MAX_ERRORS) * 200
        out.extend(_details(causes, result.arches, MAX_CHARS - used))
    if result.errors:
        out.append("")
        out.append(f"<details><summary>Errors ({len(result.errors)})</summary>")
        out.append("")
        out.extend(f"- {cell(e)}" for e in result.errors[:MAX_ERRORS])
        if len(result.errors) > MAX_ERRORS:
            out.append(f"- \u2026 and {len(result.errors) - MAX_ERRORS} more (the JSON report lists all)")
        out.append("")
        out.append("</details>")
    if result.notes:
        out.append("")
        out.extend(f"_Note: {cell(n)}_  " for n in result.notes)
    return "\n".join(out) + "\n"


def sentence(pieces: list[Piece]) -> str:
    """A root-cause sentence with names as code spans."""
    return "".join(code(text) if is_name else cell(text) for text, is_name in pieces)


def _section(title: str, group: list[RootCause], folded: bool) -> list[str]:
    out = [""]
    out += [f"<details><summary>{title}</summary>", ""] if folded else [f"### {title}", ""]
    for rc in group[:MAX_CAUSES]:
        where = "" if rc.everywhere else f" \u2014 *{cell(rc.arch_label())}*"
        waived = f" (waived: {cell(rc.findings[0].waived_by or '')})" if rc.waived else ""
        out.append(f"- {sentence(rc.sentence())}{where}{waived}")
    if len(group) > MAX_CAUSES:
        out.append(f"- \u2026 and {len(group) - MAX_CAUSES} more (the JSON report lists all)")
    if folded:
        out += ["", "</details>"]
    return out


def _details(causes: list[RootCause], universe: list[str], budget: int) -> list[str]:
    """The folded table, its rows capped by count and by `budget` characters (comments have a size limit)."""
    rows = [row for rc in causes for row in detail_rows(rc)]
    out = ["", f"<details><summary>Details: {len(rows)} changes, every member on every arch</summary>", "",
           "| Type | Change | Old \u2192 New | Severity |", "|---|---|---|---|"]
    budget -= sum(len(line) + 1 for line in out) + 200  # the closing lines and the "more" row
    shown = 0
    for row in rows[:MAX_ROWS]:
        label = f"waived: {row.waived_by}" if row.waived_by else row.severity.label
        line = f"| {code(row.target)} | {cell(row.kind)} | {cell(row.values_text(universe))} | {cell(label)} |"
        budget -= len(line) + 1
        if budget < 0:
            break
        out.append(line)
        shown += 1
    if len(rows) > shown:
        out.append(f"| \u2026 | {len(rows) - shown} more | (the JSON report lists all) | |")
    out += ["", "</details>"]
    return out
