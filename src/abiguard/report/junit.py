"""The JUnit XML report for CI test views (Jenkins, GitLab): a test case per changed type and arch group.

A type's arches are grouped by how it fared there; the case fails when its worst active finding is at
--fail-on level or above, is skipped when every finding is waived, and passes otherwise. Arches where
nothing changed get one passing case, so every arch checked shows up.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.etree import ElementTree as ET

from ..compare.findings import DiffResult, Finding, Severity
from ..compare.root_cause import bare_name
from .grouping import arch_sort_key, sort_arches

SUITE = "abiguard diff"


def render(result: DiffResult, color: bool = False, fail_on: str = "breaking") -> str:
    """JUnit XML (one testsuite in a testsuites root); `color` is ignored."""
    threshold = Severity.parse(fail_on)
    cases = _cases(result, threshold)
    suite = ET.Element("testsuite", {
        "name": SUITE,
        "tests": str(len(cases)),
        "failures": str(sum(1 for c in cases if c.find("failure") is not None)),
        "errors": "0",
        "skipped": str(sum(1 for c in cases if c.find("skipped") is not None)),
        "time": "0",
    })
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", {"name": "verdict", "value": result.verdict.label})
    ET.SubElement(props, "property", {"name": "fail-on", "value": threshold.label})
    ET.SubElement(props, "property", {"name": "arches", "value": ",".join(result.arches)})
    suite.extend(cases)
    if result.errors:
        ET.SubElement(suite, "system-err").text = "\n".join(result.errors)
    root = ET.Element("testsuites", {k: suite.get(k, "") for k in ("name", "tests", "failures", "errors",
                                                                   "skipped", "time")})
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _classname(arches: Sequence[str], universe: Sequence[str]) -> str:
    # Test views split class names on dots into packages: one package per arch group.
    return "abiguard." + ("all-arches" if set(universe) <= set(arches) else "-".join(arches))


def _cases(result: DiffResult, threshold: Severity) -> list[ET.Element]:
    by_type: dict[str, dict[str, list[Finding]]] = {}
    for f in result.findings:
        by_type.setdefault(bare_name(f.type), {}).setdefault(f.arch, []).append(f)
    cases: list[ET.Element] = []
    for name in sorted(by_type):
        per_arch = by_type[name]
        groups: dict[tuple[int, bool], list[str]] = {}
        for arch, findings in per_arch.items():
            active = [f.severity for f in findings if f.waived_by is None]
            groups.setdefault((max(active, default=Severity.IDENTICAL), not active), []).append(arch)
        for (worst, all_waived), arches in sorted(groups.items(), key=lambda g: arch_sort_key(min(
                g[1], key=arch_sort_key))):
            arch_list = sort_arches(arches)
            findings = sorted((f for a in arch_list for f in per_arch[a]),
                              key=lambda f: (f.sort_key()[:-1], arch_sort_key(f.arch)))
            cases.append(_case(name, arch_list, result.arches, findings, Severity(worst), all_waived, threshold))
    quiet = sort_arches(a for a in result.arches if not any(a in per for per in by_type.values()))
    if quiet:
        cases.append(ET.Element("testcase", {"name": "no ABI change", "classname": _classname(quiet, result.arches),
                                             "time": "0"}))
    return cases


def _case(name: str, arches: Sequence[str], universe: Sequence[str], findings: list[Finding], worst: Severity,
          all_waived: bool, threshold: Severity) -> ET.Element:
    case = ET.Element("testcase", {"name": name, "classname": _classname(arches, universe), "time": "0"})
    lines = [f"{f.arch}: {f.severity.label} {f.kind} {f.type}{'.' + f.member if f.member else ''}: {f.message}"
             + (f" (waived: {f.waived_by})" if f.waived_by else "") for f in findings]
    if all_waived:
        reasons = sorted({f.waived_by or "" for f in findings})
        ET.SubElement(case, "skipped", {"message": "waived: " + "; ".join(reasons)})
    elif worst >= threshold:
        active = [f for f in findings if f.waived_by is None and f.severity >= threshold]
        head = active[0]
        summary = f"{worst.label}: {len(active)} finding{'s' if len(active) != 1 else ''} on " + ", ".join(arches)
        failure = ET.SubElement(case, "failure", {"message": summary, "type": str(head.kind)})
        failure.text = "\n".join(lines)
        return case
    ET.SubElement(case, "system-out").text = "\n".join(lines)
    return case
