"""abiguard: catch C ABI breaks on every CPU architecture at once.

The Python API (see README.md): `load`, `diff`, `layout`, `users`, `check_core`, each returning typed,
frozen results; every error is an `AbiguardError`. The readers behind them load on first use, so
`import abiguard` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import AbiguardError, CacheWarning, UnknownName

if TYPE_CHECKING:
    from .api import DiffReport, LayoutReport, Missing, ReadOptions, UsersReport, check_core, diff, layout, load, users
    from .bpf.run import CoreResult
    from .compare.findings import Finding, Severity

__version__ = "0.1.0"

# Public name -> module that defines it, imported when the name is first used.
_LAZY = {
    **dict.fromkeys(
        ("load", "diff", "layout", "users", "check_core", "ReadOptions", "DiffReport", "LayoutReport", "UsersReport",
         "Missing"),
        "abiguard.api",
    ),
    "Finding": "abiguard.compare.findings",
    "Severity": "abiguard.compare.findings",
    "CoreResult": "abiguard.bpf.run",
}

__all__ = [
    "AbiguardError",
    "CacheWarning",
    "CoreResult",
    "DiffReport",
    "Finding",
    "LayoutReport",
    "Missing",
    "ReadOptions",
    "Severity",
    "UnknownName",
    "UsersReport",
    "__version__",
    "check_core",
    "diff",
    "layout",
    "load",
    "users",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'abiguard' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
