"""The HTML report: one self-contained page (inline CSS, no scripts, every value escaped)."""

from __future__ import annotations

from html import escape

from ..compare.findings import DiffResult, Severity
from .grouping import MergedFinding, RootGroup, chain_text, group_by_root, merge_findings, severity_order, summarize

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:80em}
.sev{padding:.1em .4em;border-radius:.2em;color:#fff}
.breaking{background:#c62828}.review{background:#ef6c00}.api{background:#6a1b9a}
.compatible{background:#2e7d32}.identical{background:#546e7a}.waived{background:#9e9e9e}
table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left}
code{font-family:ui-monospace,monospace}.only{font-weight:bold;color:#00838f}.chain{color:#555}
details{margin:.5em 0}summary{cursor:pointer}
"""


def render(result: DiffResult, color: bool = False) -> str:
    """A complete HTML5 document; `color` is ignored (the page is always styled)."""
    merged = merge_findings(result.findings, result.arches)
    summary = summarize(result, merged)
    verdict = summary.verdict
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head><meta charset="utf-8"><title>abiguard diff: ' + escape(verdict.label) + "</title>",
        "<style>" + _CSS + "</style></head>",
        "<body>",
        f'<h1>abiguard diff: <span class="sev {verdict.label}">{escape(verdict.label)}</span></h1>',
        f"<p>Checked {len(result.arches)} arches: {escape(', '.join(result.arches))}.</p>",
        "<p>" + escape(", ".join(f"{summary.counts[s]} {s.label}" for s in severity_order()))
        + (f", {summary.waived} waived" if summary.waived else "") + " (each counted once across arches).</p>",
    ]
    for group in group_by_root(result.findings, result.arches):
        parts.extend(_group(group, result.arches))
    if result.errors:
        parts.append(f"<h2>Errors ({len(result.errors)})</h2><ul>")
        parts.extend(f"<li>{escape(e)}</li>" for e in result.errors)
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _group(group: RootGroup, universe: list[str]) -> list[str]:
    sev_class = "waived" if group.waived else group.severity.label
    label = "waived" if group.waived else group.severity.label
    everywhere = set(universe) <= set(group.arches)
    where = "all arches" if everywhere else "only on: " + ", ".join(group.arches)
    open_attr = " open" if group.severity >= Severity.REVIEW and not group.waived else ""
    out = [
        f"<details{open_attr}><summary><span class=\"sev {sev_class}\">{escape(label)}</span> "
        f"<code>{escape(group.root)}</code> <span class=\"{'all' if everywhere else 'only'}\">"
        f"[{escape(where)}]</span></summary>",
        "<table><thead><tr><th>Severity</th><th>Type</th><th>Change</th><th>Old &rarr; New</th><th>Arches</th>"
        "<th>Chain</th><th>Details</th></tr></thead><tbody>",
    ]
    out.extend(_row(e) for e in (*group.causes(), *group.effects()))
    out.append("</tbody></table></details>")
    return out


def _row(e: MergedFinding) -> str:
    details = e.message + (f" (waived: {e.waived_by})" if e.waived_by else "")
    if e.locations:
        details += " at " + ", ".join(e.locations)
    chain = chain_text(e.chain) if len(e.chain) > 1 else ""
    cells = [
        f'<span class="sev {"waived" if e.waived_by else e.severity.label}">{escape(e.severity.label)}</span>',
        f"<code>{escape(e.target)}</code>",
        escape(e.kind),
        escape(e.change),
        f'<span class="{"all" if e.everywhere else "only"}">{escape(e.arch_label())}</span>',
        f'<span class="chain">{escape(chain)}</span>',
        escape(details),
    ]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"
