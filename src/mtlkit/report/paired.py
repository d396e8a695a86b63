"""Paired-by-seed comparisons: runs with the same seed share the data split, the hidden labels and the batch order,
so a configuration is compared with its baseline seed by seed, and the confidence interval of the mean paired
difference (Student's t, n - 1 degrees of freedom) holds the spread of both. The verdict: better when the whole
95 % interval is above 0, worse when it is below, a tie otherwise (and undecided with fewer than 2 pairs)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

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

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


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
