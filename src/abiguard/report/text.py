"""The terminal report (rich): root causes first, one sentence each, then every finding they hold."""

from __future__ import annotations

from io import StringIO

from rich.console import Console
from rich.text import Text

from ..compare.findings import DiffResult, Severity
from ..model.graph import is_libc_location
from .grouping import MergedFinding, chain_text
from .root_causes import RootCause, root_causes, summarize_causes, summary_sentence

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
    causes = root_causes(result)
    summary = summarize_causes(causes)
    out: list[Text] = [_headline(result, result.verdict)]
    out.append(Text(f"  {summary_sentence(summary, result.arches)}", style="dim"))
    for rc in causes:
        out.append(Text(""))
        out.extend(_cause_lines(rc))
    if result.errors:
        out.append(Text(""))
        out.append(Text(f"errors ({len(result.errors)}):", style="bold red"))
        out.extend(Text(f"  {e}") for e in result.errors[:MAX_ERRORS])
        if len(result.errors) > MAX_ERRORS:
            out.append(Text(f"  ... and {len(result.errors) - MAX_ERRORS} more (--format json lists all)", style="dim"))
    if result.notes:
        out.append(Text(""))
        out.extend(Text(f"note: {n}", style="dim") for n in result.notes)
    return out


def _headline(result: DiffResult, verdict: Severity) -> Text:
    line = Text("abiguard diff: ")
    line.append(verdict.label.upper(), style=STYLES[verdict])
    arches = ", ".join(result.arches) if result.arches else "no arches"
    line.append(f"  ({len(result.arches)} arch{'es' if len(result.arches) != 1 else ''}: {arches})")
    return line


def _cause_lines(rc: RootCause) -> list[Text]:
    head = Text()
    head.append(rc.label().upper(), style="dim" if rc.waived else STYLES[rc.severity])
    head.append("  ")
    for text, is_name in rc.sentence():
        head.append(text, style="bold" if is_name else "")
    where = Text("  ")
    where.append("[all arches]" if rc.everywhere else f"[{rc.arch_label()}]",
                 style="dim" if rc.everywhere else "bold cyan")
    where.append(f"  root cause {rc.id}", style="dim")
    out = [head, where]
    causes, effects = rc.causes(), rc.effects()
    for cause in causes:
        out.extend(_entry_lines(cause, "  "))
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
        libc = " (a libc type, from the libc headers the source was read with)" if any(
            map(is_libc_location, e.locations)) else ""
        out.append(Text(pad + "at " + ", ".join(e.locations) + libc, style="dim"))
    if e.waived_by is not None:
        out.append(Text(pad + "waived: " + e.waived_by, style="dim"))
    return out
