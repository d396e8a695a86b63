"""The grouping search: known optima on hand-made affinity matrices, exhaustive = brute force, heuristic sane."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mtlkit.errors import ConfigError
from mtlkit.grouping.search import best_grouping, best_groupings, partitions, recommended, task_scores

TASKS = ["a", "b", "c", "d"]


def _blocks(pos: float = 0.5, neg: float = -0.3) -> torch.Tensor:
    """{a, b} help each other, {c, d} help each other, across the blocks they hurt."""
    z = torch.full((4, 4), neg, dtype=torch.float64)
    z[:2, :2] = pos
    z[2:, 2:] = pos
    z.fill_diagonal_(1.0)
    return z


def test_two_blocks_are_found_and_recommended():
    groupings = best_groupings(TASKS, _blocks())
    by_k = {g.k: g for g in groupings}
    assert by_k[2].groups == (("a", "b"), ("c", "d"))
    assert by_k[2].score == pytest.approx(4 * 0.5)
    assert by_k[1].score == pytest.approx(4 * (0.5 - 0.3 - 0.3) / 3)
    assert by_k[4].score == 0.0
    assert recommended(groupings).k == 2
    assert by_k[2].method == "exhaustive"


def test_a_task_that_hurts_everyone_is_left_alone():
    z = torch.full((4, 4), 0.4, dtype=torch.float64)
    z[3, :] = -0.5  # d hurts every task
    z[:, 3] = -0.5  # and every task hurts d
    best = best_grouping(TASKS, z, 2)
    assert best.groups == (("a", "b", "c"), ("d",))


def test_the_diagonal_and_unmeasured_entries_do_not_count():
    z = _blocks()
    z.fill_diagonal_(100.0)
    z[0, 1] = math.nan  # never measured: counts as 0
    g = best_grouping(TASKS, z, 2)
    assert g.groups == (("a", "b"), ("c", "d"))
    assert g.task_scores["b"] == 0.0 and g.task_scores["a"] == pytest.approx(0.5)


def test_partitions_count_is_stirling():
    stirling = {(4, 1): 1, (4, 2): 7, (4, 3): 6, (4, 4): 1, (6, 3): 90, (7, 2): 63}
    for (n, k), count in stirling.items():
        seen = [tuple(p) for p in partitions(n, k)]
        assert len(seen) == count == len(set(seen))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(3, 6), st.data())
def test_exhaustive_search_matches_brute_force(seed, n, data):
    k = data.draw(st.integers(1, n))
    z = torch.randn(n, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    tasks = [f"t{i}" for i in range(n)]
    brute = max(
        sum(task_scores(z.tolist(), labels))
        for labels in itertools.product(range(k), repeat=n)
        if len(set(labels)) == k
    )
    assert best_grouping(tasks, z, k).score == pytest.approx(brute)


def test_heuristic_beyond_the_exhaustive_limit_finds_planted_blocks():
    n = 12
    z = torch.full((n, n), -0.2, dtype=torch.float64)
    blocks = [range(0, 5), range(5, 9), range(9, 12)]
    for b in blocks:
        for i in b:
            for j in b:
                z[i, j] = 0.6
    tasks = [f"t{i:02d}" for i in range(n)]
    g = best_grouping(tasks, z, 3)
    assert g.method == "heuristic"
    assert sorted(g.groups) == sorted(tuple(tasks[i] for i in b) for b in blocks)


def test_bad_k_and_shapes_are_one_line_errors():
    with pytest.raises(ConfigError, match="k=5"):
        best_grouping(TASKS, _blocks(), 5)
    with pytest.raises(ConfigError, match="must be 4x4"):
        best_grouping(TASKS, torch.zeros(3, 3), 2)
