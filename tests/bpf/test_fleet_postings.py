"""The postings of a fleet index (which kernels hold a record under which id): both stored forms give back
exactly the pairs they were made from, and damaged words are a format error, never a huge allocation."""

from __future__ import annotations

import random
from array import array

import pytest

from abiguard.bpf.fleet.format import FleetFormatError, _decode_posting_columns, _posting_words


def _series(rng: random.Random, n_kernels: int) -> list[int]:
    """Flat (kernel, id) pairs as a distro series has them: ids kept for runs of releases, gaps, repeats."""
    flat: list[int] = []
    tid = rng.randrange(1, 50_000)
    for kernel in range(n_kernels):
        roll = rng.random()
        if roll < 0.15:
            continue  # this kernel lacks the record
        if roll < 0.25:
            tid += rng.randrange(-3, 40) or 1  # a release that shifted the ids
            tid = max(tid, 1)
        flat += (kernel, tid)
        if roll > 0.98:
            flat += (kernel, tid + 7)  # the same record twice in one kernel
    return flat


@pytest.mark.parametrize("seed", range(40))
def test_postings_round_trip(seed):
    rng = random.Random(seed)
    n_kernels = rng.choice([1, 3, 60, 2000])
    flat = _series(rng, n_kernels) if seed % 4 else [k for pair in sorted(
        {(rng.randrange(n_kernels), rng.randrange(1, 1 << 20)) for _ in range(rng.randrange(1, 50))}) for k in pair]
    words = _posting_words(array("I", flat))
    kernels, ids = _decode_posting_columns(array("i", words), n_kernels)
    assert [v for pair in zip(kernels, ids, strict=True) for v in pair] == flat


def test_both_forms_are_used_and_the_shorter_wins():
    shared = [v for k in range(1000) for v in (k, 42)]  # one id on every kernel: a single run
    runs = _posting_words(array("I", shared))
    assert runs[0] == 1 and len(runs) == 4
    scattered = [0, 5, 2, 9, 4, 1]  # no two consecutive kernels share an id: pairs are shorter
    assert _posting_words(array("I", scattered))[0] == 0
    assert _posting_words(array("I")) == []


@pytest.mark.parametrize(
    ("words", "message"),
    [
        ([1, 0, 5, 1_000_000_000], "out of range"),  # a run far longer than the fleet: refused before spelled out
        ([1, 0, 5, 0], "out of range"),
        ([1, -1, 5, 1], "out of range"),
        ([1, 0, 5], "partial run"),
        ([0, 0, 5, 1], "partial pair"),
        ([0, 0, 0], "out of range"),  # type id 0 is void, never a named type
        ([7, 0, 5], "unknown form"),
        ([0], "out of range"),
    ],
)
def test_damaged_postings_are_format_errors(words, message):
    with pytest.raises(FleetFormatError, match=message):
        _decode_posting_columns(array("i", words), 10)
