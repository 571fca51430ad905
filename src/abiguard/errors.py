"""The one exception type users see: the CLI prints it as a single line and exits 2."""

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
