"""Waivers: a TOML file silencing known findings, each with a reason and an expiry date.

```toml
[[waiver]]
type = "struct bpf_perf_event_data"   # required: the finding's type (with or without keyword)
member = "sample_period"              # optional: only this member
arch = ["s390x"]                      # optional: only these arches (string or list)
kind = "member_offset_changed"        # optional: only this kind of finding
reason = "fixed in libbpf by ..."     # required
expires = 2026-12-31                  # required: after this day the waiver stops working
libc = true                           # optional: only findings on types the libc headers declare
```
A waiver matches a finding's own type and member, never its root cause: waiving a root cannot
silence the effects further up its chain, and waiving an effect leaves the root reported. With
`libc = true` the type may be left out: the waiver then covers every finding on a libc type (the libc
headers a source was read with changed, e.g. a newer ziglang wheel), and nothing else.

The same file can name types the kernel copies by a size the caller passes, beyond the package's
list (data/size_negotiated.toml); appending members to them is then compatible:

```toml
[[size_negotiated]]
type = "struct my_ioctl_args"         # required
syscall = "MY_IOC_SET ioctl"          # optional: named in the message
reason = "copied with copy_struct_from_user(..., usize) in my_ioctl()"   # required
```
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import AbiguardError
from .findings import Finding
from .kinds import ChangeKind
from .negotiated import SizeNegotiated, parse_entries

_KEYS = {"type", "member", "arch", "kind", "reason", "expires", "libc"}


@dataclass(frozen=True)
class Waiver:
    """One waiver entry."""

    type: str
    reason: str
    expires: dt.date
    member: str | None = None
    arches: tuple[str, ...] = ()
    kind: ChangeKind | None = None
    index: int = 0  # position in the file, for messages
    libc: bool | None = None  # only findings on libc types (True) or on the source's own (False)

    def matches(self, finding: Finding) -> bool:
        """Same type (keyword optional; any type when none is named), and member/arch/kind/libc where
        the waiver names them."""
        if self.libc is not None and self.libc != finding.libc:
            return False
        if self.type and _bare(self.type) != _bare(finding.type):
            return False
        if " " in self.type.strip() and self.type.strip() != finding.type:
            return False
        if self.member is not None and self.member != finding.member:
            return False
        if self.arches and finding.arch not in self.arches:
            return False
        return self.kind is None or self.kind == finding.kind

    def describe(self) -> str:
        parts = [self.type] if self.type else []
        if self.libc is not None:
            parts.append("libc types" if self.libc else "no libc type")
        if self.member:
            parts.append(f"member {self.member}")
        if self.kind:
            parts.append(self.kind)
        if self.arches:
            parts.append("on " + ",".join(self.arches))
        return " ".join(parts)


@dataclass
class Waivers:
    """Loaded waivers, split by whether they still apply on `today`."""

    path: str
    active: list[Waiver] = field(default_factory=list)
    expired: list[Waiver] = field(default_factory=list)
    size_negotiated: tuple[SizeNegotiated, ...] = ()

    def apply(self, findings: Sequence[Finding]) -> tuple[list[Finding], list[str]]:
        """Findings with matching ones marked waived, and messages about expired waivers."""
        out: list[Finding] = []
        for f in findings:
            waiver = next((w for w in self.active if w.matches(f)), None)
            out.append(replace(f, waived_by=waiver.reason) if waiver else f)
        notes = [
            f"{self.path}: waiver #{w.index} ({w.describe()}) expired on {w.expires.isoformat()}: "
            f"{w.reason}"
            for w in self.expired
        ]
        return out, notes


def _bare(name: str) -> str:
    return name.split()[-1] if name.split() else name


def load_waivers(path: Path, today: dt.date) -> Waivers:
    """Read and validate a waiver file; any problem is an AbiguardError naming the file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AbiguardError(path, "no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise AbiguardError(path, f"cannot read waivers: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise AbiguardError(path, f"not valid TOML: {e}") from None
    entries = data.get("waiver", [])
    unknown_top = set(data) - {"waiver", "size_negotiated"}
    if unknown_top:
        raise AbiguardError(path, f"unknown top-level key(s): {', '.join(sorted(unknown_top))}")
    if not isinstance(entries, list):
        raise AbiguardError(path, "'waiver' must be an array of tables ([[waiver]])")
    result = Waivers(str(path), size_negotiated=parse_entries(path, data.get("size_negotiated", [])))
    for i, entry in enumerate(entries, 1):
        waiver = _parse_entry(path, i, entry)
        (result.active if waiver.expires >= today else result.expired).append(waiver)
    return result


def _parse_entry(path: Path, i: int, entry: object) -> Waiver:
    if not isinstance(entry, dict):
        raise AbiguardError(path, f"waiver #{i} is not a table")
    unknown = set(entry) - _KEYS
    if unknown:
        raise AbiguardError(path, f"waiver #{i}: unknown key(s): {', '.join(sorted(unknown))}")
    libc = entry.get("libc")
    if libc is not None and not isinstance(libc, bool):
        raise AbiguardError(path, f"waiver #{i}: 'libc' must be true or false")
    for required in ("type", "reason", "expires") if libc is not True else ("reason", "expires"):
        if required not in entry:
            raise AbiguardError(path, f"waiver #{i}: missing '{required}'")
    for text in ("type", "reason", "member", "kind"):
        if text in entry and (not isinstance(entry[text], str) or not entry[text].strip()):
            raise AbiguardError(path, f"waiver #{i}: '{text}' must be a non-empty string")
    expires = entry["expires"]
    if isinstance(expires, str):
        try:
            expires = dt.date.fromisoformat(expires)
        except ValueError:
            raise AbiguardError(path, f"waiver #{i}: 'expires' is not a date (YYYY-MM-DD)") from None
    if isinstance(expires, dt.datetime):
        expires = expires.date()
    if not isinstance(expires, dt.date):
        raise AbiguardError(path, f"waiver #{i}: 'expires' is not a date (YYYY-MM-DD)")
    arch = entry.get("arch", ())
    arches = (arch,) if isinstance(arch, str) else arch
    if not isinstance(arches, (list, tuple)) or not all(isinstance(a, str) for a in arches):
        raise AbiguardError(path, f"waiver #{i}: 'arch' must be a string or a list of strings")
    from ..model import get_target

    try:
        names = tuple(get_target(a).name for a in arches)
    except AbiguardError as e:
        raise AbiguardError(path, f"waiver #{i}: {e.message}") from None
    kind = entry.get("kind")
    if kind is not None and kind not in {k.value for k in ChangeKind}:
        raise AbiguardError(path, f"waiver #{i}: unknown kind {kind!r} (one of: {', '.join(sorted(ChangeKind))})")
    return Waiver(type=entry.get("type", "").strip(), reason=entry["reason"].strip(), expires=expires,
                  member=entry.get("member"), arches=names, kind=ChangeKind(kind) if kind else None, index=i,
                  libc=libc)
