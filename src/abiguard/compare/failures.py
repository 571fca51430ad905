"""Headers that compiled in OLD and no longer do in NEW: the declarations they hide are not judged."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model import TypeGraph


@dataclass
class BrokenHeader:
    """One compile error that took headers down: the file it is in, and who includes it."""

    culprit: str  # the file the error is in
    where: str  # "file:line" of the error
    message: str  # the compiler's words
    headers: tuple[str, ...]  # the headers that no longer compile because of it (the culprit among them)
    hidden: list[str] = field(default_factory=list)  # OLD declarations missing from NEW because of it

    @property
    def included_by(self) -> tuple[str, ...]:
        return tuple(h for h in self.headers if h != self.culprit)


class Breakage:
    """The headers of one arch that stopped compiling, and which files' declarations they hide."""

    def __init__(self, old: TypeGraph, new: TypeGraph) -> None:
        failed_before = {f.header for f in old.failures}
        groups: dict[tuple[str, str], list] = {}
        for f in new.failures:
            if f.header not in failed_before:
                groups.setdefault((f.where, f.message), []).append(f)
        self.unevaluated = new.unevaluated
        self.broken: list[BrokenHeader] = []
        self._owner: dict[str, BrokenHeader] = {}
        for (where, message), failures in sorted(groups.items()):
            culprit = failures[0].culprit
            header = BrokenHeader(culprit, where, message, tuple(sorted({f.header for f in failures})))
            self.broken.append(header)
            for f in failures:
                for hidden in (*f.hides, culprit):
                    self._owner.setdefault(hidden, header)

    def hides(self, location: str, name: str) -> bool:
        """True when a declaration at `location` ("file:line" in OLD) is missing because its file no
        longer compiles; it is then recorded as not judged under that failure."""
        file, _, line = location.rpartition(":")
        header = self._owner.get(file if line.isdigit() else location)
        if header is None:
            return False
        header.hidden.append(name)
        return True

    def stalls(self, constant: str, name: str) -> bool:
        """True when a constant missing from NEW is still #defined there but no unit could evaluate it
        while headers broke: what its body needs came through them (DMA_HEAP_VALID_FD_FLAGS needs
        O_CLOEXEC, which its TU got from linux/fcntl.h). Recorded as not judged under the first."""
        if not self.broken or constant not in self.unevaluated:
            return False
        self.broken[0].hidden.append(name)
        return True
