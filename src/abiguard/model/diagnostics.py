"""Readers' diagnostics over several arches: one note reported by many arches is one line naming them."""

from __future__ import annotations

from collections.abc import Iterable

from .graph import TypeGraph
from .target import sort_arches


def notes_by_arch(graphs: Iterable[TypeGraph], anonymous_source: bool = False) -> dict[tuple[str, str], list[str]]:
    """(location, message) -> the arches whose graph carries that note, in first-seen order.

    A message's own `<arch>: ` prefix is dropped so the same note from several arches is one key; with
    `anonymous_source` the graph's source name reads `source`, so the same note about two versions is too.
    """
    arches_of: dict[tuple[str, str], list[str]] = {}
    for graph in graphs:
        arch = graph.target.name
        for diag in graph.diagnostics:
            where, message = diag.location, diag.message.removeprefix(f"{arch}: ")
            if anonymous_source and graph.source:
                where, message = where.replace(graph.source, "source"), message.replace(graph.source, "source")
            arches = arches_of.setdefault((where, message), [])
            if arch not in arches:
                arches.append(arch)
    return arches_of


def arch_label(arches: Iterable[str], total: int) -> str:
    """`all arches` when a note comes from every one of `total` (> 1) arches, else their names in order."""
    names = sort_arches(arches)
    return "all arches" if len(names) == total > 1 else ", ".join(names)
