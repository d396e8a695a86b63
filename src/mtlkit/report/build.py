"""Everything a report shows, computed once: the runs, their groups, each group's baseline and Δm."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mtlkit.errors import ConfigError, DataError
from mtlkit.evaluation.example_metrics import EXAMPLE_METRICS
from mtlkit.evaluation.metrics import METRICS
from mtlkit.report.aggregate import SEED_KEYS, Group, group_runs, swept_keys
from mtlkit.report.collect import MISSING, Collection, Run, canonical, display, find_runs, parse_overrides
from mtlkit.report.delta import (
    DEFAULT_BASELINE,
    BaselineSpec,
    Delta,
    delta_m,
    find_baseline,
    is_baseline,
    paired_delta,
)
from mtlkit.report.paired import PairedGains, check_min_effect

SPLITS = ("test", "val")
REPORT_METRICS = (*METRICS, *EXAMPLE_METRICS)  # per-task metrics (macro over tasks), then example-based ones


@dataclass(frozen=True)
class Options:
    split: str = "test"
    metric: str = "auroc"  # the headline metric: Δm column and plots (per-task or example-based)
    baseline: BaselineSpec = field(default_factory=lambda: BaselineSpec.parse(DEFAULT_BASELINE))
    seed_keys: tuple[str, ...] = SEED_KEYS
    tasks: tuple[str, ...] | None = None  # restrict per-task tables, macro means, Δm and plots to these tasks
    where: tuple[str, ...] = ()  # KEY=VALUE: keep only the runs (and missing jobs) with these values
    min_effect: float = 0.0  # %: a paired effect smaller than this is "no meaningful difference" (0: interval only)

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise ConfigError(f"split {self.split!r} is not one of {list(SPLITS)}")
        if self.metric not in REPORT_METRICS:
            raise ConfigError(f"metric {self.metric!r} is not one of {list(REPORT_METRICS)}")
        check_min_effect(self.min_effect)
        if self.metric in EXAMPLE_METRICS and self.tasks:
            raise ConfigError(
                f"--metric {self.metric} is example-based: computed over all of a run's tasks, it cannot be restricted "
                "with --tasks; drop --tasks, or choose a per-task metric (" + ", ".join(METRICS) + ")"
            )


@dataclass
class Row:
    """One configuration (group) of the summary, with its baseline and Δm per metric."""

    group: Group
    baseline: Group | None
    why_no_baseline: str
    deltas: dict[str, Delta | None]
    paired: PairedGains | None = None  # the headline metric's Δm paired by seed, per task, with 95 % intervals


@dataclass
class Report:
    dirs: list[Path]
    options: Options
    collection: Collection
    keys: list[str]
    rows: list[Row]
    tasks: list[str]
    notes: list[str]

    @property
    def groups(self) -> list[Group]:
        return [r.group for r in self.rows]

    @property
    def has_deltas(self) -> bool:
        return any(d is not None for r in self.rows for d in r.deltas.values())

    @property
    def has_example_metrics(self) -> bool:
        """Whether any succeeded run has example-based metrics on the report's split (runs written before them
        have none)."""
        split = self.options.split
        return any(
            (((r.results or {}).get("metrics") or {}).get(split) or {}).get("example_based")
            for r in self.collection.succeeded
        )


def build_report(dirs: Sequence[str | Path], options: Options | None = None) -> Report:
    """Collect the runs under ``dirs``, group them by swept key, and compute Δm against the baseline."""
    options = options or Options()
    collection = select(find_runs(dirs), options.where)
    if not collection.runs and not collection.missing and options.where:
        raise DataError(f"no run under {', '.join(map(str, dirs))} has {' '.join(options.where)} (--where)")
    if not collection.runs and not collection.missing:
        raise DataError(
            f"no runs under {', '.join(map(str, dirs))}: a run is a folder with .hydra/config.yaml or results.json "
            "(what mtlkit-train writes); pass a run folder or a multirun folder such as outputs/train/multiruns/DATE"
        )
    notes = list(collection.notes)
    succeeded = collection.succeeded
    if succeeded and not any(options.split in ((r.results or {}).get("metrics") or {}) for r in succeeded):
        have = sorted({s for r in succeeded for s in ((r.results or {}).get("metrics") or {})})
        raise ConfigError(f"no run has metrics on split {options.split!r}; the runs have {have} (use --split)")

    keys = swept_keys(collection.runs, options.seed_keys)
    groups = group_runs(collection.runs, keys)
    tasks = _tasks(groups, options.tasks)
    if options.tasks:
        restrict_macro(succeeded, tasks)
        notes.append("example-based metrics are computed over all of a run's tasks, so --tasks leaves them out")
    spec = options.baseline
    has_baseline = any(is_baseline(g, spec) and g.ok_runs for g in groups)
    if not has_baseline:
        hint = ", ".join(f"{k}={v}" for k, v in _example_values(groups, keys))
        notes.append(
            f"no succeeded run has {spec.text}, so Δm is not computed; choose the baseline with "
            f"--baseline KEY=VALUE" + (f" (e.g. {hint})" if hint else "")
        )
    rows = []
    for group in groups:
        base, why = find_baseline(group, groups, spec) if has_baseline else (None, f"no {spec.text} runs")
        deltas = {m: (delta_m(group, base, options.split, m, tasks) if base else None) for m in REPORT_METRICS}
        paired = None
        if base is not None and base is not group:
            paired = paired_delta(group, base, options.split, options.metric, options.seed_keys, tasks)
        rows.append(Row(group=group, baseline=base, why_no_baseline=why, deltas=deltas, paired=paired))
    notes += _seed_notes(groups)
    report = Report(
        dirs=[Path(d) for d in dirs],
        options=options,
        collection=collection,
        keys=keys,
        rows=rows,
        tasks=tasks,
        notes=notes,
    )
    if options.metric in EXAMPLE_METRICS and succeeded and not report.has_example_metrics:
        notes.append(
            f"no run has example-based metrics on {options.split} (runs written before mtlkit recorded them), so "
            f"--metric {options.metric} is n/a; re-run them, or choose one of {', '.join(METRICS)}"
        )
    return report


def select(collection: Collection, where: Sequence[str]) -> Collection:
    """The runs and missing jobs whose value of each ``KEY=VALUE`` in ``where`` is VALUE; runs that do not have the
    key at all are kept (the scratch baseline of a transfer sweep has no ``finetune``)."""
    if not where:
        return collection
    try:
        wanted = {k: canonical(v) for k, v in parse_overrides(where).items()}
    except Exception as err:
        raise ConfigError(f"--where {list(where)}: each must be KEY=VALUE, e.g. finetune=full ({err})") from err
    runs = [r for r in collection.runs if all(r.value(k) in (v, MISSING) for k, v in wanted.items())]
    missing = [
        m
        for m in collection.missing
        if all(canonical(m.overrides.get(k, MISSING)) in (v, MISSING) for k, v in wanted.items())
    ]
    notes = [*collection.notes, f"only runs with {' '.join(where)} (--where)"]
    return Collection(runs=runs, missing=missing, notes=notes)


def restrict_macro(runs: Sequence[Run], tasks: Sequence[str]) -> None:
    """Replace each run's macro metrics by the mean over ``tasks`` (those with a defined value), on every split, so
    that the macro columns, plots and runs.csv describe the tasks chosen with --tasks; the example-based metrics,
    which cannot be restricted to some tasks, are dropped."""
    for run in runs:
        for split_metrics in ((run.results or {}).get("metrics") or {}).values():
            per_task = split_metrics.get("per_task") or {}
            macro = {}
            for metric in METRICS:
                values = [
                    float(v)
                    for t in tasks
                    if isinstance(v := (per_task.get(t) or {}).get(metric), (int, float)) and not math.isnan(v)
                ]
                macro[metric] = statistics.fmean(values) if values else None
            split_metrics["macro"] = macro
            split_metrics.pop("example_based", None)


def _tasks(groups: Sequence[Group], wanted: Sequence[str] | None) -> list[str]:
    every: list[str] = []
    for g in groups:
        every += [t for t in g.tasks if t not in every]
    if wanted is None:
        return every
    unknown = [t for t in wanted if t not in every]
    if unknown and every:
        raise ConfigError(f"--tasks names unknown task(s) {unknown}; the runs have {every[:20]}")
    return [t for t in wanted if t in every]


def _example_values(groups: Sequence[Group], keys: Sequence[str]) -> list[tuple[str, str]]:
    """A ``--baseline`` suggestion: the first swept key's value in the first group with a succeeded run (a group
    whose runs all failed is never proposed)."""
    usable = [g for g in groups if g.ok_runs]
    return [(k, display(usable[0].value(k))) for k in keys[:1]] if usable else []


def _seed_notes(groups: Sequence[Group]) -> list[str]:
    counts = [len(g.ok_runs) for g in groups]
    if not counts:
        return []
    most = max(counts)
    if most == 0:
        return ["no configuration has a succeeded run: see the failed runs"]
    notes = [
        f"{g.label}: {len(g.ok_runs)} succeeded run(s) of {len(g.runs)}, fewer than the {most} of other groups"
        for g in groups
        if len(g.ok_runs) < most
    ]
    if most < 3:
        notes.append(f"at most {most} seed(s) per configuration: the ± spreads are rough (use >= 3 seeds)")
    return notes
