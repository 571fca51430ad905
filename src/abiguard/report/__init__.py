"""Renderers: a DiffResult as text, JSON, Markdown, SARIF, HTML or JUnit XML (each imported only when used)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ..errors import UnknownName

if TYPE_CHECKING:
    from ..compare.findings import DiffResult

# Format name -> module holding its `render(result, color) -> str`; loaded lazily to keep start-up fast.
_DIFF_RENDERERS = {
    "text": "abiguard.report.text",
    "json": "abiguard.report.json_report",
    "markdown": "abiguard.report.markdown",
    "sarif": "abiguard.report.sarif",
    "html": "abiguard.report.html",
    "junit": "abiguard.report.junit",
}
# Formats whose verdict per test depends on --fail-on: their render() also takes `fail_on`.
_JUDGING = frozenset({"junit"})
DIFF_FORMATS: tuple[str, ...] = tuple(_DIFF_RENDERERS)


def render_diff(result: DiffResult, fmt: str, color: bool = False, fail_on: str = "breaking") -> str:
    """The report for one diff in `fmt` (one of DIFF_FORMATS); colour applies to text only, `fail_on` to junit."""
    module_name = _DIFF_RENDERERS.get(fmt)
    if module_name is None:
        raise UnknownName("format", f"unknown format '{fmt}' (known: {', '.join(DIFF_FORMATS)})")
    module = importlib.import_module(module_name)
    if fmt in _JUDGING:
        return module.render(result, color, fail_on=fail_on)
    return module.render(result, color)


__all__ = ["DIFF_FORMATS", "render_diff"]
