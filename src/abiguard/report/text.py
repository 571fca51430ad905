"""The terminal report (rich): one block per root cause with its effects, merged across arches."""

from __future__ import annotations

from io import StringIO

from rich.console import Console
from rich.text import Text

from ..compare.findings import DiffResult, Severity
from .grouping import MergedFinding, RootGroup, chain_text, group_by_root, merge_findings, summarize

STYLES = {
    Severity.BREAKING: "bold red",
    Severity.REVIEW: "bold yellow",
    Severity.API: "magenta",
    Severity.COMPATIBLE: "green",
    Severity.IDENTICAL: "dim",
}
MAX_ERRORS = 20  # a kernel tree can yield thousands of reader notes; the report stays readable
WIDTH = 100  # fixed so output is the same on every terminal and pipe; lines are never wrapped


def render(result: DiffResult, color: bool = False) -> str:
    """Plain text when `color` is false (pipes, files), ANSI colour otherwise."""
    buf = StringIO()
    console = Console(file=buf, force_terminal=color, no_color=not color, color_system="standard" if color else None,
                      width=WIDTH, highlight=False, markup=False, emoji=False, soft_wrap=True)
    for line in lines(result):
        console.print(line)
    return buf.getvalue()


def lines(result: DiffResult) -> list[Text]:
    """The report as styled lines (rendered by render())."""
    merged = merge_findings(result.findings, result.arches)
    summary = summarize(result, merged)
    out: list[Text] = [_headline(result, summary.verdict)]
    counts = ", ".join(f"{n} {s.label}" for s, n in sorted(summary.counts.items(), reverse=True))
    waived = f", {summary.waived} waived" if summary.waived else ""
    out.append(Text(f"  {counts}{waived} (each counted once across arches)", style="dim"))
    for group in group_by_root(result.findings, result.arches):
        out.append(Text(""))
        out.extend(_group_lines(group, set(result.arches)))
    if result.errors:
        out.append(Text(""))
        out.append(Text(f"errors ({len(result.errors)}):", style="bold red"))
        out.extend(Text(f"  {e}") for e in result.errors[:MAX_ERRORS])
        if len(result.errors) > MAX_ERRORS:
            out.append(Text(f"  ... and {len(result.errors) - MAX_ERRORS} more (--format json lists all)", style="dim"))
    return out


def _headline(result: DiffResult, verdict: Severity) -> Text:
    line = Text("abiguard diff: ")
    line.append(verdict.label.upper(), style=STYLES[verdict])
    arches = ", ".join(result.arches) if result.arches else "no arches"
    line.append(f"  ({len(result.arches)} arch{'es' if len(result.arches) != 1 else ''}: {arches})")
    return line


def _group_lines(group: RootGroup, universe: set[str]) -> list[Text]:
    head = Text()
    sev = group.severity
    head.append(f"{'waived' if group.waived else sev.label.upper()}", style="dim" if group.waived else STYLES[sev])
    head.append(f"  {group.root}", style="bold")
    everywhere = universe <= set(group.arches)
    head.append("  [all arches]" if everywhere else "  [only on: " + ", ".join(group.arches) + "]",
                style="dim" if everywhere else "bold cyan")
    out = [head]
    for cause in group.causes():
        out.extend(_entry_lines(cause, "  "))
    effects = group.effects()
    if effects:
        out.append(Text(f"  effects ({len(effects)}):", style="dim"))
        for e in effects:
            out.extend(_entry_lines(e, "    "))
    return out


def _entry_lines(e: MergedFinding, indent: str) -> list[Text]:
    line = Text(indent)
    line.append(f"{e.severity.label:<11}", style=STYLES[e.severity] if e.waived_by is None else "dim")
    line.append(e.target, style="bold")
    line.append(f"  {e.kind}")
    if e.change:
        line.append(f"  {e.change}")
    line.append("  [all arches]" if e.everywhere else f"  [{e.arch_label()}]",
                style="dim" if e.everywhere else "cyan")
    out = [line]
    pad = indent + " " * 11
    if e.message:
        out.append(Text(pad + e.message))
    if len(e.chain) > 1:
        out.append(Text(pad + "chain: " + chain_text(e.chain), style="dim"))
    if e.location:
        out.append(Text(pad + "at " + ", ".join(e.locations), style="dim"))
    if e.waived_by is not None:
        out.append(Text(pad + "waived: " + e.waived_by, style="dim"))
    return out
