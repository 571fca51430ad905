"""The kernel reader's merged graph of real 6.1 units equals the plain reference merge of those units."""

from __future__ import annotations

from pathlib import Path

import pytest
from headers.merge_reference import reference_merge  # tests/headers, a sibling test package

from abiguard.model.graph import is_libc_location
from abiguard.model.target import TARGETS
from abiguard.model.types import Kind
from abiguard.sources.kernel import load_kernel


@pytest.mark.slow
def test_kernel_graph_is_the_reference_merge_of_its_units(linux_source: Path, kernel_cache_dir: Path) -> None:
    target = TARGETS["s390x"]
    result = load_kernel(f"kernel:{linux_source}", [target], cache_root=kernel_cache_dir, keep_units=True)
    graph = result.graphs[0]
    units = [unit for _, unit in result.stats.units[target.name]]
    assert len(units) > 10
    types, constants, diagnostics = reference_merge(units, target)
    assert len(types) > 5000
    assert list(graph.types) == types
    assert list(graph.constants.items()) == list(constants.items())
    # The reader puts its own notes (no-header-test list, skipped headers) before the merge's.
    assert tuple(graph.diagnostics[len(graph.diagnostics) - len(diagnostics):]) == diagnostics
    # Forward declarations merged away where a TU saw the definition; each struct name defined once by
    # the tree (a libc may define one of them too: glibc's struct timeval beside linux/time.h's).
    structs = [t.name for t in types if t.kind == Kind.STRUCT and t.name and not is_libc_location(t.location)]
    assert len(structs) == len(set(structs))
    assert all(g == target.name for g in result.stats.units)
