"""Fixtures for the header reader: the layout test headers written once, and their graphs per arch."""

from __future__ import annotations

from pathlib import Path

import pytest

from abiguard.model import TypeGraph
from abiguard.model.target import ALL_ARCHES, parse_arch_list
from abiguard.sources import SourceOptions
from abiguard.sources.clang.headers import read_headers

from .layout_headers import write_headers


@pytest.fixture(scope="session")
def layout_header_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory of headers covering bitfields, packing, alignment, enums, constants."""
    return write_headers(tmp_path_factory.mktemp("layout-headers"))


@pytest.fixture(scope="session")
def layout_graphs(layout_header_dir: Path) -> dict[str, TypeGraph]:
    """The layout headers read for all 15 architectures (in parallel), by arch name."""
    graphs = read_headers([layout_header_dir], parse_arch_list("all"), SourceOptions())
    assert [g.target.name for g in graphs] == list(ALL_ARCHES)
    return {g.target.name: g for g in graphs}
