"""The JSON report: exactly DiffResult.to_json(), the public contract (one finding object per arch)."""

from __future__ import annotations

import json

from ..compare.findings import DiffResult


def render(result: DiffResult, color: bool = False) -> str:
    """Indented, key-stable JSON with a trailing newline; `color` is ignored (machines read this)."""
    return json.dumps(result.to_json(), indent=2, ensure_ascii=False, default=str) + "\n"
