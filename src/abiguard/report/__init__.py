"""Renderers: a DiffResult as text, JSON, Markdown, SARIF or HTML (each format imported only when used)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ..errors import AbiguardError

if TYPE_CHECKING:
    from ..compare.findings import DiffResult

# Format name -> module holding its `render(result, color) -> str`; loaded lazily to keep start-up fast.
_DIFF_RENDERERS = {
    "text": "abiguard.report.text",
    "json": "abiguard.report.json_report",
    "markdown": "abiguard.report.markdown",
    "sarif": "abiguard.report.sarif",
    "html": "abiguard.report.html",
}
DIFF_FORMATS: tuple[str, ...] = tuple(_DIFF_RENDERERS)


def render_diff(result: DiffResult, fmt: str, color: bool = False) -> str:
    """The report for one diff in `fmt` (text|json|markdown|sarif|html); colour applies to text only."""
    module_name = _DIFF_RENDERERS.get(fmt)
    if module_name is None:
        raise AbiguardError("--format", f"unknown format '{fmt}' (known: {', '.join(DIFF_FORMATS)})")
    return importlib.import_module(module_name).render(result, color)


__all__ = ["DIFF_FORMATS", "render_diff"]
