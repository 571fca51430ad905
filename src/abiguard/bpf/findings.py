"""What a load check found on one kernel: where in the object, what is missing, and whether that decides."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from .btf_ext import LineInfo


class Outcome(StrEnum):
    FAILS = "fails"  # the kernel's BTF proves the object cannot load (or attach) as built
    UNKNOWN = "unknown"  # BTF cannot decide; never reported as ok


class Check(StrEnum):
    HELPER = "helper"
    KFUNC = "kfunc"
    KSYM = "ksym"
    KCONFIG = "kconfig"
    PROGRAM = "program type"
    ATTACH = "attach target"
    MAP = "map"
    GLOBAL_DATA = "global data"
    CONTEXT = "context layout"


@dataclass(frozen=True, slots=True)
class EnumRef:
    """A UAPI enum value the object uses by number; its name may come from another kernel's BTF."""

    enum: str  # `bpf_func_id`
    value: int
    prefix: str  # `BPF_FUNC_`: enumerators of this enum that name values

    @property
    def unnamed(self) -> str:
        return f"#{self.value}"

    def label(self, enumerator: str | None) -> str:
        """`bpf_cgrp_storage_get (#210)`, `BPF_MAP_TYPE_CGRP_STORAGE (#32)`, or `#32` without a name."""
        if enumerator is None:
            return self.unnamed
        shown = "bpf_" + enumerator[len(self.prefix) :] if self.prefix == "BPF_FUNC_" else enumerator
        return f"{shown} ({self.unnamed})"


@dataclass(frozen=True, slots=True)
class LoadFinding:
    check: Check
    outcome: Outcome
    section: str  # ELF section of the instruction or definition
    subject: str  # `helper bpf_cgrp_storage_get (#210)`, `map cgrp_map`
    message: str  # what is missing on this kernel
    insn: int | None = None  # instruction index within the section
    func: str = ""
    line: LineInfo | None = None
    ref: EnumRef | None = None  # set when the subject is known by number only

    def named(self, enumerator: str) -> LoadFinding:
        """This finding with its numbered subject named (from another kernel's enum)."""
        if self.ref is None:
            return self
        plain, label = self.ref.unnamed, self.ref.label(enumerator)
        if plain in self.subject:
            return replace(self, subject=self.subject.replace(plain, label, 1))
        return replace(self, message=self.message.replace(plain, label, 1))

    @property
    def summary(self) -> str:
        """One line without the location: kernels with the same summaries share a verdict."""
        return f"{self.check.value} {self.subject}: {self.message}"

    def where(self) -> str:
        at = f"section '{self.section}'"
        if self.insn is not None:
            at += f" insn #{self.insn}"
        if self.func:
            at += f" in {self.func}()"
        return at

    def source(self) -> str:
        if self.line is None or not self.line.text:
            return ""
        return f"{self.line.file}:{self.line.line}: {self.line.text.strip()}"


def enum_name(names: dict[str, int] | None, value: int, prefix: str) -> str | None:
    """The enumerator with `prefix` that has `value` (a `__MAX` marker never does); None when there is none."""
    if names is None:
        return None
    for name, v in names.items():
        if v == value and name.startswith(prefix):
            return name
    return None
