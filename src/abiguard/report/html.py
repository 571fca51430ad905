"""The HTML report: one self-contained page (inline CSS and SVG, no scripts, every value escaped).

Root causes first, each with a picture of the old and new layout of every type it touches on every
arch, then its findings folded in a table.
"""

from __future__ import annotations

from html import escape

from ..compare.findings import DiffResult, Severity
from .layout_svg import CSS as SVG_CSS
from .layout_svg import render_svg
from .root_causes import Piece, RootCause, detail_rows, root_causes, summarize_causes, summary_sentence

MAX_PICTURES = 60  # a kernel-wide diff can touch thousands of types; the page stays loadable
MAX_SECTIONS = 500  # root causes with their details table; the rest are one line each (JSON has everything)

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:90em}
.sev{padding:.1em .4em;border-radius:.2em;color:#fff;font-size:.8em;vertical-align:middle}
.breaking{background:#c62828}.review{background:#ef6c00}.api{background:#6a1b9a}
.compatible{background:#2e7d32}.identical{background:#546e7a}.waived{background:#9e9e9e}
table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left}
code{font-family:ui-monospace,monospace}.only{font-weight:bold;color:#00838f}.id{color:#777;font-size:.85em}
details{margin:.5em 0}summary{cursor:pointer}section.cause{border-top:1px solid #ddd;padding-top:.5em}
section.cause h2{font-size:1.1em;font-weight:normal}.pictures{display:flex;flex-wrap:wrap;align-items:flex-start}
figure{margin:.3em}figcaption{font-size:.85em;color:#555}
"""


def render(result: DiffResult, color: bool = False) -> str:
    """A complete HTML5 document; `color` is ignored (the page is always styled)."""
    causes = root_causes(result)
    summary = summarize_causes(causes)
    verdict = result.verdict
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head><meta charset="utf-8"><title>abiguard diff: ' + escape(verdict.label) + "</title>",
        "<style>" + _CSS + SVG_CSS + "</style></head>",
        "<body>",
        f'<h1>abiguard diff: <span class="sev {verdict.label}">{escape(verdict.label)}</span></h1>',
        f'<p class="summary">{escape(summary_sentence(summary, result.arches))}.</p>',
        f"<p>Checked {len(result.arches)} arches: {escape(', '.join(result.arches))}.</p>",
    ]
    budget = MAX_PICTURES
    for rc in causes[:MAX_SECTIONS]:
        section, drawn = _cause(rc, result, budget)
        parts.extend(section)
        budget -= drawn
    if len(causes) > MAX_SECTIONS:
        rest = causes[MAX_SECTIONS:]
        parts.append(f"<h2>{len(rest)} more root causes</h2><ul class=\"more\">")
        parts.extend(f'<li id="rc-{rc.id}"><span class="sev {_css(rc)}">{escape(rc.label())}</span> '
                     f"{sentence(rc.sentence())} <span class=\"id\">{escape(rc.arch_label())}</span></li>"
                     for rc in rest)
        parts.append("</ul>")
    wanted = sum(len(_pictured(rc, result)) for rc in causes)
    if wanted > MAX_PICTURES:
        parts.append(f"<p>Pictures are drawn for the first {MAX_PICTURES} of {wanted} layouts.</p>")
    if result.errors:
        parts.append(f"<h2>Errors ({len(result.errors)})</h2><ul>")
        parts.extend(f"<li>{escape(e)}</li>" for e in result.errors)
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def sentence(pieces: list[Piece]) -> str:
    return "".join(f"<code>{escape(text)}</code>" if is_name else escape(text) for text, is_name in pieces)


def _pictured(rc: RootCause, result: DiffResult) -> list[tuple[str, str]]:
    """(arch, type) of every struct/union of this cause whose layouts the diff carries, for drawing."""
    if rc.severity < Severity.REVIEW or rc.waived:
        return []
    return [key for key in rc.pictured_types() if key in result.layouts]


def _css(rc: RootCause) -> str:
    return "waived" if rc.waived else rc.severity.label


def _cause(rc: RootCause, result: DiffResult, budget: int) -> tuple[list[str], int]:
    css = _css(rc)
    where_class = "all" if rc.everywhere else "only"
    out = [
        f'<section class="cause" id="rc-{rc.id}" data-root-cause="{rc.id}" data-severity="{css}">',
        f'<h2><span class="sev {css}">{escape(rc.label())}</span> {sentence(rc.sentence())}</h2>',
        f'<p><span class="{where_class}">{escape(rc.arch_label())}</span> <span class="id">root cause '
        f"{rc.id}</span></p>",
    ]
    keys = _pictured(rc, result)[:max(budget, 0)]
    if keys:
        chains = {(f.arch, f.type): f.chain for f in rc.findings if len(f.chain) > 1}
        out.append('<div class="pictures">')
        for arch, type_name in keys:
            old, new = result.layouts[(arch, type_name)]
            svg = render_svg(type_name, arch, old, new, chains.get((arch, type_name), ()))
            out.append(f"<figure>{svg}<figcaption>{escape(type_name)} on {escape(arch)}: old (left), new "
                       "(right)</figcaption></figure>")
        out.append("</div>")
    rows = detail_rows(rc)
    out.append(f"<details><summary>Details: {len(rows)} change{'s' if len(rows) != 1 else ''}</summary>")
    out.append("<table><thead><tr><th>Severity</th><th>Type</th><th>Change</th><th>Old &rarr; New</th></tr>"
               "</thead><tbody>")
    for row in rows:
        label = "waived" if row.waived_by else row.severity.label
        note = f" (waived: {row.waived_by})" if row.waived_by else ""
        out.append(f'<tr><td><span class="sev {label}">{escape(row.severity.label)}</span></td>'
                   f"<td><code>{escape(row.target)}</code></td><td>{escape(row.kind)}</td>"
                   f"<td>{escape(row.values_text(result.arches) + note)}</td></tr>")
    out.append("</tbody></table></details></section>")
    return out, len(keys)
