"""Per-task metrics on labelled entries only, with macro means that skip undefined tasks, and the example-based
multi-label metrics (:mod:`mtlkit.evaluation.example_metrics`) of the same predictions.

AUROC and average precision are undefined for a task with no labelled entry or with a single class among
them; such a task is reported as NaN and counted, never as 0 (docs/loss.md, "Metrics"). Accuracy and F1 (and
Hamming loss and micro-F1) decide ``prob > threshold`` with one threshold per task (``eval.threshold``,
:mod:`mtlkit.evaluation.thresholds`); docs/metrics.md defines every metric.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torchmetrics import Metric
from torchmetrics.functional.classification import (
    binary_accuracy,
    binary_auroc,
    binary_average_precision,
    binary_f1_score,
)
from torchmetrics.utilities import dim_zero_cat

from mtlkit.evaluation.example_metrics import decide, example_based_metrics
from mtlkit.evaluation.thresholds import choose_f1_thresholds, fixed_thresholds

METRICS = ("auroc", "ap", "acc", "f1")
RANKING = ("auroc", "ap")  # need both classes among the labelled entries


class MaskedMultilabelMetrics(Metric):
    """Collects probabilities, labels and masks over an epoch; ``compute`` returns per-task, macro and
    example-based values (states gathered from every process by torchmetrics, so exact under DDP).

    ``thresholds`` (``{"rule", "values": {task: t}, "fallback"}``, as :mod:`mtlkit.evaluation.thresholds` makes
    them; every task at ``threshold`` to begin with) decide ``prob > t``; with ``choose_thresholds`` set, ``compute``
    first chooses them (F1-maximising per task) on the gathered data and keeps them in ``thresholds``.
    """

    full_state_update = False

    def __init__(self, tasks: Sequence[str], threshold: float = 0.5):
        super().__init__()
        self.tasks = list(tasks)
        self.threshold = threshold
        self.thresholds: dict[str, Any] = fixed_thresholds(threshold, self.tasks)
        self.choose_thresholds = False
        self.add_state("probs", default=[], dist_reduce_fx="cat")
        self.add_state("targets", default=[], dist_reduce_fx="cat")
        self.add_state("masks", default=[], dist_reduce_fx="cat")

    def update(self, probs: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> None:
        self.probs.append(probs.detach().float())
        self.targets.append(y.detach().to(torch.int8))
        self.masks.append(mask.detach())

    def compute(self) -> dict:
        if isinstance(self.probs, list) and not self.probs:  # after a DDP sync the states are tensors
            probs = torch.zeros(0, len(self.tasks))
            targets, masks = probs.to(torch.int8), probs.bool()
        else:
            probs, targets, masks = (dim_zero_cat(s) for s in (self.probs, self.targets, self.masks))
        if self.choose_thresholds:
            self.thresholds = choose_f1_thresholds(probs, targets, masks, self.tasks)
        per_task = [self.thresholds["values"].get(t, self.threshold) for t in self.tasks]
        res = task_metrics(probs, targets, masks, self.tasks, per_task)
        res["example_based"] = example_based_metrics(
            probs, targets, masks, per_task, [row["f1"] for row in res["per_task"].values()]
        )
        res["thresholds"] = {**self.thresholds, "values": dict(zip(self.tasks, per_task))}
        return res


def task_metrics(
    probs: torch.Tensor,
    targets: torch.Tensor,
    masks: torch.Tensor,
    tasks: Sequence[str],
    threshold: float | Sequence[float] = 0.5,
) -> dict:
    """``{"per_task": {task: {metric: value, "n_labelled", "n_pos"}}, "macro": {metric: mean},
    "undefined": {metric: count}}``; means skip NaN (undefined) tasks. ``threshold``: one for every task, or one
    per task (accuracy and F1 decide ``prob > threshold``)."""
    thresholds = [float(threshold)] * len(tasks) if isinstance(threshold, (int, float)) else list(threshold)
    decisions = decide(probs, thresholds).long()
    per_task: dict[str, dict[str, float]] = {}
    for j, task in enumerate(tasks):
        m = masks[:, j].bool()
        p, t, d = probs[m, j], targets[m, j].long(), decisions[m, j]
        n, npos = int(m.sum()), int(t.sum())
        row: dict[str, float] = {"n_labelled": n, "n_pos": npos}
        both = 0 < npos < n
        row["auroc"] = float(binary_auroc(p, t)) if both else math.nan
        row["ap"] = float(binary_average_precision(p, t)) if both else math.nan
        row["acc"] = float(binary_accuracy(d, t)) if n else math.nan
        row["f1"] = float(binary_f1_score(d, t)) if npos else math.nan
        per_task[task] = row
    macro, undefined = {}, {}
    for name in METRICS:
        vals = [r[name] for r in per_task.values() if not math.isnan(r[name])]
        macro[name] = sum(vals) / len(vals) if vals else math.nan
        undefined[name] = len(per_task) - len(vals)
    return {"per_task": per_task, "macro": macro, "undefined": undefined}
