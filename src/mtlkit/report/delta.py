"""Δm: the mean relative per-task gain of a configuration over its baseline, in % (Maninis et al., CVPR 2019).

    Δm = (1/T) * sum_t (-1)^{l_t} * (M_config,t - M_base,t) / M_base,t * 100

with M the mean over seeds of a metric on task t and l_t = 1 where lower is better (Hamming loss, ranking loss,
one-error and coverage; AUROC, AP, accuracy, F1, LRAP and micro/macro-F1 are higher-is-better), so Δm > 0 always
means the configuration beats its baseline. An example-based metric has one value per run, not one per task: its
Δm is the relative gain of that value (the formula with T = 1).
The spread reported with Δm is the sample std over the configuration's seeds of the same formula applied to each
seed's run against the baseline's mean; its mean over seeds equals Δm, and the baseline's own seed noise is not
in it (the baseline row shows that: its Δm is 0 ± its own spread).

A configuration's baseline is the group with ``key=value`` (default ``approach=separate``) that has the same
value of every other swept key ("same data and budget"), apart from keys listed in ``ignore`` and keys the
baseline runs do not have at all (e.g. ``finetune`` when the baseline is not a transfer run).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mtlkit.errors import ConfigError
from mtlkit.evaluation.example_metrics import EXAMPLE_METRICS, LOWER_IS_BETTER
from mtlkit.report.aggregate import Group, metric_value
from mtlkit.report.collect import MISSING, canonical, display, parse_overrides
from mtlkit.report.paired import PairedGains, paired_gains

DEFAULT_BASELINE = "approach=separate"
EXAMPLE_TASK = "(all tasks)"  # what Delta.tasks holds for an example-based metric: one value over all tasks

CONVENTION = (
    "Δm (Maninis et al. 2019) = mean over tasks t of (-1)^l (M_config,t - M_baseline,t) / M_baseline,t x 100, with "
    "M the mean over seeds of the metric on task t and l = 1 for the lower-is-better metrics (hamming, "
    "ranking_loss, one_error, coverage), 0 otherwise, so for every metric Δm > 0 means the configuration beats its "
    "baseline; an example-based metric (one value per run) is the formula with T = 1. "
    "± is the std over the configuration's seeds of the same formula per seed "
    "(against the baseline's mean). The baseline of a configuration is the {baseline} group with the same value of "
    "every other swept key (same data and budget){ignored}."
)


@dataclass(frozen=True)
class BaselineSpec:
    """Which group is the baseline (``key=value``), and which swept keys need not match it."""

    key: str
    value: Any
    ignore: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str, ignore: Sequence[str] = ()) -> BaselineSpec:
        try:
            parsed = parse_overrides([text])
        except Exception as err:
            raise ConfigError(f"--baseline {text!r} is not KEY=VALUE (e.g. approach=separate): {err}") from err
        if len(parsed) != 1:
            raise ConfigError(f"--baseline {text!r} must be one KEY=VALUE, e.g. approach=separate")
        ((key, value),) = parsed.items()
        return cls(key=key, value=canonical(value), ignore=frozenset(ignore))

    @property
    def text(self) -> str:
        return f"{self.key}={display(self.value)}"

    def convention(self) -> str:
        ignored = f"; keys not matched: {', '.join(sorted(self.ignore))}" if self.ignore else ""
        return CONVENTION.format(baseline=self.text, ignored=ignored)


@dataclass
class Delta:
    """Δm of one configuration against its baseline, for one metric."""

    value: float
    std: float
    n: int  # seeds of the configuration with a per-seed Δm
    tasks: list[str]
    skipped: list[str] = field(default_factory=list)  # tasks left out: undefined metric or zero baseline


def is_baseline(group: Group, spec: BaselineSpec) -> bool:
    return group.value(spec.key) == spec.value


def find_baseline(group: Group, groups: Sequence[Group], spec: BaselineSpec) -> tuple[Group | None, str]:
    """The baseline group of ``group`` and, when there is none, why."""
    match_keys = [k for k in group.keys if k != spec.key and k not in spec.ignore]
    candidates, exact = [], []
    for cand in groups:
        if not is_baseline(cand, spec) or not cand.ok_runs:
            continue
        pairs = [(cand.value(k), group.value(k)) for k in match_keys]
        if all(b is MISSING or b == c for b, c in pairs):
            candidates.append(cand)
            if all(b == c for b, c in pairs):
                exact.append(cand)
    if len(candidates) == 1:
        return candidates[0], ""
    if len(exact) == 1:
        return exact[0], ""
    if not candidates:
        return None, f"no succeeded {spec.text} run with the same " + (", ".join(match_keys) or "settings")
    labels = "; ".join(c.label for c in candidates)
    return None, f"several {spec.text} groups match ({labels}); pass --ignore KEY or a narrower --baseline"


def relative_gain(config: float, base: float, metric: str) -> float:
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    return sign * (config - base) / base * 100.0


def delta_m(group: Group, base: Group, split: str, metric: str, tasks: Sequence[str] | None = None) -> Delta | None:
    """Δm of ``group`` against ``base`` on ``metric`` (over ``tasks``, default: the tasks both have; an
    example-based metric: its one value per run, over all tasks)."""
    example = metric in EXAMPLE_METRICS
    if example:
        common: list[Any] = [EXAMPLE_TASK]
    else:
        common = [t for t in group.tasks if t in base.tasks and (tasks is None or t in tasks)]
    key = {t: (None if example else t) for t in common}  # the task metric_value reads: None = the run's value
    base_means = {t: base.stat(split, metric, key[t]).mean for t in common}
    conf_means = {t: group.stat(split, metric, key[t]).mean for t in common}
    usable = [t for t in common if math.isfinite(base_means[t]) and base_means[t] != 0 and math.isfinite(conf_means[t])]
    if not usable:
        return None
    value = statistics.fmean(relative_gain(conf_means[t], base_means[t], metric) for t in usable)
    per_seed = []
    for run in group.ok_runs:
        vals = [metric_value(run, split, metric, key[t]) for t in usable]
        if all(v is not None and math.isfinite(v) for v in vals):
            per_seed.append(statistics.fmean(relative_gain(v, base_means[t], metric) for v, t in zip(vals, usable)))
    std = statistics.stdev(per_seed) if len(per_seed) > 1 else math.nan
    return Delta(value=value, std=std, n=len(per_seed), tasks=usable, skipped=[t for t in common if t not in usable])


def paired_delta(
    group: Group, base: Group, split: str, metric: str, seed_keys: Sequence[str], tasks: Sequence[str] | None = None
) -> PairedGains | None:
    """Δm of ``group`` against ``base`` paired by seed (runs with the same ``seed_keys`` values), each task's paired
    gain, and a 95 % t interval for each (:mod:`mtlkit.report.paired`); None when no seed has both runs."""

    def by_seed(g: Group) -> dict[str, Any]:
        return {",".join(display(r.value(k)) for k in seed_keys): r for r in g.ok_runs}

    if metric in EXAMPLE_METRICS:
        common: list[str | None] = [None]
    else:
        common = [t for t in group.tasks if t in base.tasks and (tasks is None or t in tasks)]
    gains = paired_gains(by_seed(group), by_seed(base), common, split, metric)
    return gains if gains.delta.n else None
