"""Group runs by the parameters a sweep varied, and summarise each group over its seeds (mean, std, n)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from mtlkit.evaluation.example_metrics import EXAMPLE_METRICS
from mtlkit.report.collect import MISSING, Run, display

SEED_KEYS = ("seed",)
FIRST_KEYS = ("approach",)  # shown first when swept


@dataclass(frozen=True)
class Stat:
    """Mean and sample standard deviation (ddof=1) over the defined values; NaN where undefined."""

    mean: float
    std: float
    n: int

    @classmethod
    def of(cls, values: Iterable[float | None]) -> Stat:
        vals = [float(v) for v in values if v is not None and not math.isnan(float(v))]
        if not vals:
            return cls(math.nan, math.nan, 0)
        return cls(statistics.fmean(vals), statistics.stdev(vals) if len(vals) > 1 else math.nan, len(vals))


def metric_value(run: Run, split: str, metric: str, task: str | None = None) -> float | None:
    """One metric of one run on ``split``: a task's value, or the run's macro mean when ``task`` is None. An
    example-based metric (``lrap``, ``hamming``, ...) has one value per run (``task`` None) and none per task."""
    split_metrics = ((run.results or {}).get("metrics") or {}).get(split) or {}
    if metric in EXAMPLE_METRICS:
        block = split_metrics.get("example_based") if task is None else None
    else:
        block = split_metrics.get("macro") if task is None else (split_metrics.get("per_task") or {}).get(task)
    value = (block or {}).get(metric)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def swept_keys(runs: Sequence[Run], seed_keys: Sequence[str] = SEED_KEYS) -> list[str]:
    """The override keys whose value differs between runs (``seed_keys`` and ``hydra.*`` excluded), in order of
    first appearance, ``approach`` first."""
    keys: list[str] = []
    for run in runs:
        keys += [k for k in run.overrides if k not in keys]
    keys = [k for k in keys if k not in seed_keys and not k.startswith("hydra.")]
    varied = [k for k in keys if len({run.value(k) for run in runs}) > 1]
    return sorted(varied, key=lambda k: (FIRST_KEYS.index(k) if k in FIRST_KEYS else len(FIRST_KEYS), keys.index(k)))


def sort_key(value: Any) -> tuple:
    """Numbers first (by value), then text, then missing values."""
    if isinstance(value, float):
        return (0, value, "")
    if value is MISSING:
        return (2, 0.0, "")
    return (1, 0.0, str(value))


@dataclass
class Group:
    """The runs that share one value of every swept key (they differ only in seed)."""

    keys: tuple[str, ...]
    values: tuple[Any, ...]
    runs: list[Run]

    @property
    def ok_runs(self) -> list[Run]:
        return [r for r in self.runs if r.ok]

    @property
    def failed_runs(self) -> list[Run]:
        return [r for r in self.runs if not r.ok]

    def value(self, key: str) -> Any:
        """This group's value of ``key`` (swept or not: a key every run shares)."""
        if key in self.keys:
            return self.values[self.keys.index(key)]
        return self.runs[0].value(key)

    @property
    def label(self) -> str:
        return ", ".join(f"{k}={display(v)}" for k, v in zip(self.keys, self.values)) or "all runs"

    @property
    def tasks(self) -> list[str]:
        """Tasks of the succeeded runs, in order of first appearance."""
        out: list[str] = []
        for run in self.ok_runs:
            out += [t for t in run.tasks if t not in out]
        return out

    def seeds(self, seed_keys: Sequence[str] = SEED_KEYS) -> list[str]:
        return [",".join(display(r.value(k)) for k in seed_keys) for r in self.ok_runs]

    def stat(self, split: str, metric: str, task: str | None = None) -> Stat:
        """Mean ± std over this group's succeeded runs of one metric (macro when ``task`` is None)."""
        return Stat.of(metric_value(r, split, metric, task) for r in self.ok_runs)

    def field_stat(self, *path: str) -> Stat:
        """Mean ± std of a numeric field of results.json, e.g. ``("parameters", "total")``."""
        values = []
        for run in self.ok_runs:
            node: Any = run.results
            for part in path:
                node = node.get(part) if isinstance(node, dict) else None
            values.append(node if isinstance(node, (int, float)) and not isinstance(node, bool) else None)
        return Stat.of(values)


def group_runs(runs: Sequence[Run], keys: Sequence[str]) -> list[Group]:
    """One group per distinct value of ``keys``, sorted by those values (numbers numerically)."""
    by_values: dict[tuple, list[Run]] = {}
    for run in runs:
        by_values.setdefault(tuple(run.value(k) for k in keys), []).append(run)
    groups = [
        Group(tuple(keys), values, sorted(members, key=lambda r: str(r.path))) for values, members in by_values.items()
    ]
    return sorted(groups, key=lambda g: tuple(sort_key(v) for v in g.values))
