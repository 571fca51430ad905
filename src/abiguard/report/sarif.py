"""The SARIF 2.1.0 report for code-scanning UIs: one rule per finding kind, one result per merged finding."""

from __future__ import annotations

import json
import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from ..compare.findings import DiffResult, Severity
from ..compare.kinds import ChangeKind
from ..compare.root_cause import root_cause_ids
from .grouping import MergedFinding, chain_text, merge_findings

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {
    Severity.BREAKING: "error",
    Severity.REVIEW: "warning",
    Severity.API: "note",
    Severity.COMPATIBLE: "note",
    Severity.IDENTICAL: "none",
}
_LOCATION = re.compile(r"^(?P<file>.+?):(?P<line>\d+)(?::(?P<col>\d+))?$")


def render(result: DiffResult, color: bool = False) -> str:
    """A SARIF log with one run; `color` is ignored."""
    merged = merge_findings(result.findings, result.arches)
    kinds = sorted({m.kind for m in merged})
    rule_index = {k: i for i, k in enumerate(kinds)}
    rules = [_rule(k, merged) for k in kinds]
    ids = root_cause_ids(result.findings)
    results = [_result(m, rule_index[m.kind], ids[(m.arches[0], m.root)]) for m in merged]
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "abiguard", "version": _version(),
                            "rules": rules}},
        "results": results,
        "invocations": [{
            "executionSuccessful": not result.errors,
            "toolExecutionNotifications": [
                {"level": "error", "message": {"text": e}} for e in result.errors
            ],
        }],
        "properties": {"verdict": result.verdict.label, "arches": list(result.arches)},
    }
    log = {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2, ensure_ascii=False, default=str) + "\n"


def _version() -> str:
    try:
        return version("abiguard")
    except PackageNotFoundError:
        return "0"


def _rule(kind: ChangeKind, merged: list[MergedFinding]) -> dict[str, Any]:
    # A kind's default level is the worst severity it was given in this run; each result carries its own.
    worst = max(m.severity for m in merged if m.kind == kind)
    words = kind.replace("_", " ")
    return {
        "id": kind,
        "name": "".join(w.capitalize() for w in kind.split("_")),
        "shortDescription": {"text": words[:1].upper() + words[1:]},
        "defaultConfiguration": {"level": _LEVELS[worst]},
    }


def _result(m: MergedFinding, index: int, root_cause: str) -> dict[str, Any]:
    text = f"{m.target}: {m.message or m.kind}" + (f" ({m.change})" if m.change else "")
    text += f" [{m.arch_label()}]"
    if len(m.chain) > 1:
        text += f"; chain: {chain_text(m.chain)}"
    out: dict[str, Any] = {
        "ruleId": m.kind,
        "ruleIndex": index,
        "level": _LEVELS[m.severity],
        "message": {"text": text},
        "locations": [loc for loc in (_location(s) for s in m.locations) if loc is not None],
        "partialFingerprints": {"abiguardFinding/v1": "|".join(
            (m.root, m.kind, m.type, m.member or "", ",".join(m.arches)))},
        "properties": {
            "severity": m.severity.label, "arches": list(m.arches), "type": m.type, "member": m.member,
            "old": m.old, "new": m.new, "root": m.root, "chain": list(m.chain), "root_cause": root_cause,
        },
    }
    if m.waived_by is not None:
        out["suppressions"] = [{"kind": "external", "justification": m.waived_by}]
    return out


def _location(text: str) -> dict[str, Any] | None:
    """`file:line[:col]` as a physicalLocation; a bare path without a line keeps only the artifact."""
    if not text:
        return None
    match = _LOCATION.match(text)
    path, line, col = (match["file"], int(match["line"]), match["col"]) if match else (text, 0, None)
    physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(path)}}
    if line > 0:
        region: dict[str, Any] = {"startLine": line}
        if col is not None and int(col) > 0:
            region["startColumn"] = int(col)
        physical["region"] = region
    return {"physicalLocation": physical}


def _uri(path: str) -> str:
    """A relative URI reference for relative paths, a file:// URI for absolute ones (percent-encoded)."""
    if path.startswith("/"):
        return "file://" + quote(str(PurePosixPath(path)))
    return quote(path)
