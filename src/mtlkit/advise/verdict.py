"""The verdict of ``mtlkit-advise``: each approach against separate networks, paired by seed, per task and overall,
with its cost; and the rule that turns it into one recommendation.

For every seed s with both runs, ``Δm_s = mean_t (±)(M_arm,t,s - M_sep,t,s) / M_sep,t,s x 100`` (sign flipped
for lower-is-better metrics); the arm's Δm is the mean over seeds with a 95 % Student-t interval
(:mod:`mtlkit.report.paired`), which holds the spread of both arms. An arm is *better* when the interval is above
0, *worse* when below, a *tie* otherwise. With a smallest effect worth counting (``--min-effect PCT``, round 2's
rule in experiments/plan.md), *better* and *worse* also need |mean Δm| >= PCT, and anything else is *no
meaningful difference*, which the recommendation treats as a tie. The worst task is the task with the lowest mean
paired relative gain.

Recommendation: the better arm with the highest Δm; if none is better, the cheapest tie (fewest parameters; with
equal parameters the simpler arm, in the order separate, shared, grouped, balanced, transfer: training time is too
noisy to break ties), since there is no evidence that the costlier one gains anything; if every arm is worse, separate
networks. A run that is missing or failed is named in the verdict, never dropped silently: pairs use the seeds
where both runs succeeded, and n says how many.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtlkit.report.aggregate import metric_value
from mtlkit.report.collect import Run, read_run
from mtlkit.report.paired import Paired, PairedGains, paired_gains

BASELINE = "separate"


@dataclass
class ArmResult:
    """One approach compared with separate networks."""

    name: str
    description: str
    delta: Paired  # Δm (%) paired by seed
    per_task: dict[str, Paired]  # relative gain (%) per task, paired by seed
    means: dict[str, float]  # the metric per task, mean over this arm's succeeded seeds
    macro: float  # the metric's macro mean over tasks and seeds
    parameters: float  # mean total parameters
    fit_s: float  # mean training time (s)
    seeds: list[int]
    problems: list[str] = field(default_factory=list)  # missing or failed runs, named
    delta_by_seed: dict[str, float] = field(default_factory=dict)  # Δm_s (%) per paired seed (verdict.json)

    @property
    def worst_task(self) -> tuple[str, float] | None:
        """The task with the lowest mean paired gain over separate networks, and that gain."""
        return PairedGains(self.delta, self.per_task).worst_task


@dataclass
class Verdict:
    metric: str
    split: str
    tasks: list[str]
    baseline: ArmResult
    arms: list[ArmResult]
    recommendation: str
    recommended: str
    problems: list[str]
    min_effect: float = 0.0  # smallest |Δm| (%) that counts as better or worse; 0: the interval alone

    def verdict_of(self, p: Paired) -> str:
        """An arm's (or a task's) verdict under this verdict's rule (:meth:`Paired.verdict_at`)."""
        return p.verdict_at(self.min_effect)


def _value(run: Run, split: str, metric: str, task: str) -> float:
    v = metric_value(run, split, metric, task)
    return math.nan if v is None else float(v)


def _mean(values: Sequence[float]) -> float:
    vals = [v for v in values if not math.isnan(v)]
    return statistics.fmean(vals) if vals else math.nan


def _field(run: Run, *path: str) -> float:
    node: Any = run.results
    for part in path:
        node = node.get(part) if isinstance(node, Mapping) else None
    return float(node) if isinstance(node, (int, float)) and not isinstance(node, bool) else math.nan


def read_arm(run_dirs: Mapping[int, Path], name: str) -> tuple[dict[int, Run], list[str]]:
    """The succeeded runs of an arm by seed, and a line for each seed whose run is missing or failed."""
    ok, problems = {}, []
    for seed, path in sorted(run_dirs.items()):
        if not Path(path).is_dir():
            problems.append(f"{name} seed {seed}: missing (no run folder {path})")
            continue
        run = read_run(Path(path))
        if run.ok:
            ok[seed] = run
        else:
            problems.append(f"{name} seed {seed}: failed ({run.error or 'no results.json'}) in {path}")
    return ok, problems


def compare(
    name: str,
    description: str,
    runs: Mapping[int, Run],
    base: Mapping[int, Run],
    tasks: Sequence[str],
    metric: str,
    split: str,
    problems: Sequence[str] = (),
) -> ArmResult:
    """One arm against the baseline runs, paired by seed."""
    gains = paired_gains(runs, base, tasks, split, metric)
    means = {t: _mean([_value(r, split, metric, t) for r in runs.values()]) for t in tasks}
    return ArmResult(
        name=name,
        description=description,
        delta=gains.delta,
        per_task=gains.per_task,
        means=means,
        macro=_mean(list(means.values())),
        parameters=_mean([_field(r, "parameters", "total") for r in runs.values()]),
        fit_s=_mean([_field(r, "timings", "fit_s") for r in runs.values()]),
        seeds=sorted(runs),
        problems=list(problems),
        delta_by_seed=gains.by_seed,
    )


def _pct(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:+.2f} %"


def _interval(p: Paired) -> str:
    if p.n < 2:
        return f"{_pct(p.mean)} (n={p.n}: no interval)"
    return f"{_pct(p.mean)} ± {p.half_width:.2f} (95 % CI [{p.low:+.2f}, {p.high:+.2f}], n={p.n})"


def _cost(arm: ArmResult, base: ArmResult) -> str:
    if math.isnan(arm.parameters) or math.isnan(base.parameters) or not base.parameters:
        return "cost unknown"
    text = f"{100 * arm.parameters / base.parameters:.0f} % of the parameters"
    if not math.isnan(arm.fit_s) and not math.isnan(base.fit_s) and base.fit_s > 0:
        text += f", {100 * arm.fit_s / base.fit_s:.0f} % of the training time"
    return text


TIES = ("tie", "no meaningful difference")


def recommend(base: ArmResult, arms: Sequence[ArmResult], min_effect: float = 0.0) -> tuple[str, str]:
    """``(name, sentence)``: the rule of the module docstring, with ``min_effect`` (%) as the smallest effect."""
    verdict = {a.name: a.delta.verdict_at(min_effect) for a in arms}
    better = [a for a in arms if verdict[a.name] == "better"]
    if better:
        best = max(better, key=lambda a: a.delta.mean)
        return best.name, (
            f"{best.description}: better than separate networks, Δm {_interval(best.delta)}, at {_cost(best, base)}"
        )
    ties = [a for a in arms if verdict[a.name] in TIES]
    if ties:
        order = {a.name: i for i, a in enumerate(arms)}  # equal parameters: the simpler arm (listed first)
        best = min(ties, key=lambda a: (a.parameters, order[a.name]))
        tie = verdict[best.name] == "tie"
        what = "a tie with" if tie else f"no meaningful difference (under {min_effect:g} %) from"
        return best.name, (
            f"{best.description}: {what} separate networks (Δm {_interval(best.delta)}) at {_cost(best, base)}; "
            "no option is better, and this is the cheapest of the ties"
        )
    undecided = [a for a in arms if verdict[a.name] == "undecided"]
    if undecided and not any(verdict[a.name] == "worse" for a in arms):
        return BASELINE, "undecided: fewer than 2 seeds with both runs; run more seeds (--seeds)"
    worse = [a for a in arms if verdict[a.name] == "worse"]
    if worse:
        closest = max(worse, key=lambda a: a.delta.mean)
        return BASELINE, (
            f"separate networks: every shared option is worse (the closest, {closest.description}: "
            f"Δm {_interval(closest.delta)}, at {_cost(closest, base)} of separate networks); this holds at this "
            "budget, where each network trains as many steps: a larger budget for the shared ones may change it"
        )
    return BASELINE, "separate networks: nothing to compare with"


def build_verdict(
    arms: Sequence[tuple[str, str, Mapping[int, Path]]],
    metric: str = "auroc",
    split: str = "test",
    min_effect: float = 0.0,
) -> Verdict:
    """The verdict from ``(name, description, {seed: run folder})`` per arm; the first arm named ``separate`` is
    the baseline; ``min_effect`` (%) is the smallest |Δm| that counts as better or worse (0: the interval alone)."""
    by_name = {name: (desc, dirs) for name, desc, dirs in arms}
    if BASELINE not in by_name:
        raise ValueError("the verdict needs the separate-networks arm as its baseline")
    base_runs, problems = read_arm(by_name[BASELINE][1], BASELINE)
    tasks: list[str] = []
    read = {}
    for name, desc, dirs in arms:
        runs, issues = (base_runs, []) if name == BASELINE else read_arm(dirs, name)
        problems += issues
        read[name] = (desc, runs, issues)
        for run in runs.values():
            tasks += [t for t in run.tasks if t not in tasks]
    results = {
        name: compare(name, desc, runs, base_runs, tasks, metric, split, issues)
        for name, (desc, runs, issues) in read.items()
    }
    base = results[BASELINE]
    others = [results[name] for name, _, _ in arms if name != BASELINE]
    recommended, sentence = recommend(base, others, min_effect)
    return Verdict(metric, split, tasks, base, others, sentence, recommended, problems, min_effect)
