"""compare stage: match two TypeGraphs per arch, detect changes, follow impact chains, judge severity."""

from .engine import compare_graphs, run_diff
from .findings import DiffResult, Finding, Severity
from .waivers import Waivers, load_waivers

__all__ = ["DiffResult", "Finding", "Severity", "Waivers", "compare_graphs", "load_waivers", "run_diff"]
