"""Paired-by-seed comparisons: runs with the same seed share the data split, the hidden labels and the batch order,
so a configuration is compared with its baseline seed by seed, and the confidence interval of the mean paired
difference (Student's t, n - 1 degrees of freedom) holds the spread of both. The verdict: better when the whole
95 % interval is above 0, worse when it is below, a tie otherwise (and undecided with fewer than 2 pairs)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mtlkit.errors import ConfigError
from mtlkit.evaluation.example_metrics import LOWER_IS_BETTER
from mtlkit.report.aggregate import metric_value

CONFIDENCE = 0.95


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the regularised incomplete beta function (modified Lentz's method)."""
    tiny, c, d = 1e-300, 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)), None):
            if numerator is None:
                numerator = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` degrees of freedom."""
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom (bisection on :func:`t_cdf`)."""
    if not 0.0 < p < 1.0 or df <= 0:
        raise ValueError(f"t_quantile needs 0 < p < 1 and df > 0, got p={p}, df={df}")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if t_cdf(mid, df) < p else (lo, mid)
    return 0.5 * (lo + hi)


@dataclass(frozen=True)
class Paired:
    """The mean of paired differences with its confidence interval and the verdict it supports."""

    mean: float
    low: float
    high: float
    n: int
    std: float

    @classmethod
    def from_record(cls, d: Mapping[str, Any]) -> Paired:
        """A Paired from its JSON record (e.g. an arm's ``delta`` in verdict.json): null or missing numbers are NaN
        (json has no NaN), a missing ``n`` is 0."""

        def num(key: str) -> float:
            x = d.get(key)
            return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else math.nan

        n = num("n")
        return cls(num("mean"), num("low"), num("high"), 0 if math.isnan(n) else int(n), num("std"))

    @property
    def verdict(self) -> str:
        """``better`` / ``worse`` (the interval excludes 0), ``tie``, or ``undecided`` (fewer than 2 pairs)."""
        if self.n < 2 or math.isnan(self.low):
            return "undecided"
        if self.low > 0:
            return "better"
        if self.high < 0:
            return "worse"
        return "tie"

    def verdict_at(self, floor: float) -> str:
        """The verdict with a smallest effect worth counting (round 2's rule): ``better`` / ``worse`` only when the
        interval excludes 0 **and** |mean| >= ``floor``; otherwise ``no meaningful difference`` (or ``undecided``).
        With ``floor`` <= 0, :attr:`verdict` unchanged."""
        verdict = self.verdict
        if floor <= 0:
            return verdict
        if verdict in ("better", "worse") and abs(self.mean) < floor:
            return "no meaningful difference"
        return "no meaningful difference" if verdict == "tie" else verdict

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


def check_min_effect(pct: float) -> None:
    """A one-line ConfigError unless ``pct`` is a usable ``--min-effect``: a percentage >= 0 (nan is refused)."""
    if not pct >= 0:
        raise ConfigError(f"--min-effect {pct}: give a percentage >= 0 (e.g. 0.5), or 0 for none")


def paired(differences: Sequence[float], confidence: float = CONFIDENCE) -> Paired:
    """Mean and ``confidence`` interval (Student's t) of per-seed differences ``config - baseline``."""
    values = [float(d) for d in differences if d is not None and not math.isnan(float(d))]
    n = len(values)
    if n == 0:
        return Paired(math.nan, math.nan, math.nan, 0, math.nan)
    mean = statistics.fmean(values)
    if n == 1:
        return Paired(mean, math.nan, math.nan, 1, math.nan)
    std = statistics.stdev(values)
    half = t_quantile(0.5 + confidence / 2, n - 1) * std / math.sqrt(n)
    return Paired(mean, mean - half, mean + half, n, std)


@dataclass(frozen=True)
class PairedGains:
    """A configuration against its baseline, paired by seed: Δm (%), each task's relative gain (%), the seeds that
    found no partner."""

    delta: Paired
    per_task: dict[str, Paired]
    unpaired: tuple[str, ...] = ()
    by_seed: dict[str, float] = field(default_factory=dict)  # Δm_s (%) of each paired seed

    @property
    def worst_task(self) -> tuple[str, float] | None:
        """The task with the lowest mean paired gain, and that gain (None when no task has one)."""
        defined = [(t, p.mean) for t, p in self.per_task.items() if not math.isnan(p.mean)]
        return min(defined, key=lambda x: x[1]) if defined else None


def paired_gains(
    runs: Mapping[str, Any],
    base: Mapping[str, Any],
    tasks: Sequence[str | None],
    split: str,
    metric: str,
) -> PairedGains:
    """Pair ``runs`` with ``base`` (both ``{seed: Run}``) by seed; per pair, each task's relative gain
    ``(±)(M - M_base) / |M_base| x 100`` (sign flipped for lower-is-better metrics) and their mean over tasks, Δm_s.
    A task None is the run-level value (an example-based metric). Seeds of ``runs`` without a partner are listed."""
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0

    def gain(run: Any, partner: Any, task: str | None) -> float:
        v, b = metric_value(run, split, metric, task), metric_value(partner, split, metric, task)
        if v is None or b is None or b == 0 or not (math.isfinite(v) and math.isfinite(b)):
            return math.nan
        return sign * (v - b) / abs(b) * 100.0

    common = [s for s in runs if s in base]
    per_task: dict[str, list[float]] = {str(t): [] for t in tasks}
    deltas = []
    for seed in common:
        gains = [gain(runs[seed], base[seed], t) for t in tasks]
        for t, g in zip(tasks, gains):
            per_task[str(t)].append(g)
        defined = [g for g in gains if not math.isnan(g)]
        deltas.append(statistics.fmean(defined) if defined else math.nan)
    return PairedGains(
        delta=paired(deltas),
        per_task={t: paired(v) for t, v in per_task.items()},
        unpaired=tuple(str(s) for s in runs if s not in base),
        by_seed={str(s): d for s, d in zip(common, deltas)},
    )
