"""The exceptions users see: the CLI prints each as one line `abiguard: error: <where>: <what>` and exits 2.

Every one is an AbiguardError; a caller of the Python API catches that one class, and may tell a name
abiguard does not know (UnknownName: an arch, a type, a format) from a bad input.
"""

from __future__ import annotations

from pathlib import Path


class AbiguardError(Exception):
    """A user-facing error about one input (file, ref, option)."""

    def __init__(self, where: str | Path | None, message: str) -> None:
        self.where = str(where) if where is not None else None
        self.message = message
        super().__init__(f"{self.where}: {message}" if self.where else message)

    def __reduce__(self) -> tuple[type[AbiguardError], tuple[str | None, str]]:
        # Errors cross process boundaries (Dask workers): rebuild from both fields, not the joined text.
        return (type(self), (self.where, self.message))


class UnknownName(AbiguardError):
    """A request names something abiguard does not know or the inputs lack: an architecture, a type,
    an output format. `what` says which (`architecture`, `type`, `format`); the CLI names its option."""

    def __init__(self, what: str, message: str) -> None:
        super().__init__(None, message)
        self.what = what

    def __reduce__(self) -> tuple[type[UnknownName], tuple[str, str]]:  # type: ignore[override]
        return (type(self), (self.what, self.message))


class CacheWarning(UserWarning):
    """A cache that cannot be written (read-only, full): the run goes on without storing to it."""
