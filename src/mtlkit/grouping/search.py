"""The best grouping of tasks into k networks, from an affinity matrix ``Z[i, j] = Z(i -> j)``.

Criterion (TAG's, Fifty et al. 2021, for a partition): each task's score is the mean affinity onto it from the
other tasks of its group, ``s_j = mean_{i in G(j), i != j} Z(i -> j)`` (0 for a task alone: it neither gains nor
loses from others), and a grouping's score is ``sum_j s_j``. Unmeasured entries (NaN) count as 0.

Search: exhaustive over every partition into exactly k groups when T <= ``EXHAUSTIVE_MAX_TASKS`` (Bell(10) =
115,975 partitions in all); beyond, a heuristic: greedy agglomeration from singletons (merge the two groups
whose union scores best) down to k groups, then local search (move one task to another group, or swap two
tasks) from that start and from ``restarts`` random partitions, keeping the best. The heuristic finds a local
optimum, not a guaranteed global one; :class:`Grouping` says which was used.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

from mtlkit.errors import ConfigError

EXHAUSTIVE_MAX_TASKS = 10


@dataclass(frozen=True)
class Grouping:
    """One grouping of the tasks: its groups (task names), score, per-task scores, and how it was found."""

    k: int
    groups: tuple[tuple[str, ...], ...]
    score: float
    task_scores: dict[str, float]
    method: str  # "exhaustive" or "heuristic"

    def as_lists(self) -> list[list[str]]:
        return [list(g) for g in self.groups]


def _clean(matrix: torch.Tensor) -> list[list[float]]:
    return [[0.0 if math.isnan(v) else float(v) for v in row] for row in matrix.double().tolist()]


def task_scores(z: list[list[float]], labels: Sequence[int]) -> list[float]:
    """Each task's score under the partition ``labels`` (task -> group index)."""
    out = []
    for j, g in enumerate(labels):
        mates = [i for i, h in enumerate(labels) if h == g and i != j]
        out.append(sum(z[i][j] for i in mates) / len(mates) if mates else 0.0)
    return out


def partitions(n: int, k: int) -> Iterator[list[int]]:
    """Every partition of ``n`` items into exactly ``k`` non-empty groups, as restricted growth strings."""
    labels = [0] * n

    def grow(i: int, used: int) -> Iterator[list[int]]:
        if n - i < k - used:  # not enough items left to open the missing groups
            return
        if i == n:
            if used == k:
                yield list(labels)
            return
        for g in range(min(used + 1, k)):
            labels[i] = g
            yield from grow(i + 1, max(used, g + 1))

    if 1 <= k <= n:
        yield from grow(0, 0)


def _canonical(labels: Sequence[int]) -> tuple[int, ...]:
    """Groups numbered in order of their first task (so a partition has one representation)."""
    mapping: dict[int, int] = {}
    return tuple(mapping.setdefault(g, len(mapping)) for g in labels)


def _local_search(z: list[list[float]], labels: list[int], k: int) -> tuple[float, list[int]]:
    best = sum(task_scores(z, labels))
    improved = True
    while improved:
        improved = False
        n = len(labels)
        candidates = []
        for j in range(n):  # move task j to group g (never emptying its group)
            if labels.count(labels[j]) > 1:
                candidates += [(j, None, g) for g in range(k) if g != labels[j]]
        candidates += [(a, b, None) for a in range(n) for b in range(a + 1, n) if labels[a] != labels[b]]
        for a, b, g in candidates:
            trial = list(labels)
            if b is None:
                trial[a] = g
            else:
                trial[a], trial[b] = trial[b], trial[a]
            score = sum(task_scores(z, trial))
            if score > best + 1e-12:
                best, labels, improved = score, trial, True
                break
    return best, labels


def _agglomerate(z: list[list[float]], k: int) -> list[int]:
    groups = [[j] for j in range(len(z))]
    while len(groups) > k:
        best = None
        for a in range(len(groups)):
            for b in range(a + 1, len(groups)):
                merged = groups[:a] + groups[a + 1 : b] + groups[b + 1 :] + [groups[a] + groups[b]]
                labels = [0] * len(z)
                for g, members in enumerate(merged):
                    for j in members:
                        labels[j] = g
                score = sum(task_scores(z, labels))
                if best is None or score > best[0]:
                    best = (score, merged)
        groups = best[1]  # type: ignore[index]
    labels = [0] * len(z)
    for g, members in enumerate(groups):
        for j in members:
            labels[j] = g
    return labels


def best_grouping(tasks: Sequence[str], affinity: torch.Tensor, k: int, restarts: int = 20, seed: int = 0) -> Grouping:
    """The highest-scoring grouping of ``tasks`` into exactly ``k`` groups (see the module docstring)."""
    n = len(tasks)
    if affinity.shape != (n, n):
        raise ConfigError(f"an affinity matrix for {n} tasks must be {n}x{n}, got {tuple(affinity.shape)}")
    if not 1 <= k <= n:
        raise ConfigError(f"cannot group {n} tasks into k={k} networks: choose 1 <= k <= {n}")
    z = _clean(affinity)
    if n <= EXHAUSTIVE_MAX_TASKS:
        method = "exhaustive"
        best_score, best_labels = -math.inf, None
        for labels in partitions(n, k):
            score = sum(task_scores(z, labels))
            if score > best_score + 1e-12:
                best_score, best_labels = score, labels
    else:
        method = "heuristic"
        rng = random.Random(seed)
        starts = [_agglomerate(z, k)]
        for _ in range(restarts):
            labels = list(range(k)) + [rng.randrange(k) for _ in range(n - k)]
            rng.shuffle(labels)
            starts.append(labels)
        best_score, best_labels = -math.inf, None
        for start in starts:
            score, labels = _local_search(z, start, k)
            if score > best_score + 1e-12:
                best_score, best_labels = score, labels
    assert best_labels is not None
    labels = list(_canonical(best_labels))
    groups = tuple(tuple(tasks[j] for j in range(n) if labels[j] == g) for g in range(k))
    scores = task_scores(z, labels)
    return Grouping(k, groups, best_score, {t: scores[j] for j, t in enumerate(tasks)}, method)


def best_groupings(tasks: Sequence[str], affinity: torch.Tensor, k_max: int | None = None) -> list[Grouping]:
    """The best grouping for every k = 1 .. ``k_max`` (default: the number of tasks)."""
    k_max = len(tasks) if k_max is None else min(int(k_max), len(tasks))
    return [best_grouping(tasks, affinity, k) for k in range(1, k_max + 1)]


def recommended(groupings: Sequence[Grouping]) -> Grouping:
    """The best-scoring grouping over k (the fewest networks among equal scores)."""
    if not groupings:
        raise ConfigError("no grouping to recommend")
    return max(groupings, key=lambda g: (g.score, -g.k))
