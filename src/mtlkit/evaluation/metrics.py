"""Per-task metrics on labelled entries only, with macro means that skip undefined tasks.

AUROC and average precision are undefined for a task with no labelled entry or with a single class among
them; such a task is reported as NaN and counted, never as 0 (docs/loss.md, "Metrics").
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torchmetrics import Metric
from torchmetrics.functional.classification import (
    binary_accuracy,
    binary_auroc,
    binary_average_precision,
    binary_f1_score,
)
from torchmetrics.utilities import dim_zero_cat

METRICS = ("auroc", "ap", "acc", "f1")
RANKING = ("auroc", "ap")  # need both classes among the labelled entries


class MaskedMultilabelMetrics(Metric):
    """Collects probabilities, labels and masks over an epoch; ``compute`` returns per-task and macro values."""

    full_state_update = False

    def __init__(self, tasks: Sequence[str], threshold: float = 0.5):
        super().__init__()
        self.tasks = list(tasks)
        self.threshold = threshold
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
        return task_metrics(probs, targets, masks, self.tasks, self.threshold)


def task_metrics(
    probs: torch.Tensor, targets: torch.Tensor, masks: torch.Tensor, tasks: Sequence[str], threshold: float = 0.5
) -> dict:
    """``{"per_task": {task: {metric: value, "n_labelled", "n_pos"}}, "macro": {metric: mean},
    "undefined": {metric: count}}``; means skip NaN (undefined) tasks."""
    per_task: dict[str, dict[str, float]] = {}
    for j, task in enumerate(tasks):
        m = masks[:, j].bool()
        p, t = probs[m, j], targets[m, j].long()
        n, npos = int(m.sum()), int(t.sum())
        row: dict[str, float] = {"n_labelled": n, "n_pos": npos}
        both = 0 < npos < n
        row["auroc"] = float(binary_auroc(p, t)) if both else math.nan
        row["ap"] = float(binary_average_precision(p, t)) if both else math.nan
        row["acc"] = float(binary_accuracy(p, t, threshold=threshold)) if n else math.nan
        row["f1"] = float(binary_f1_score(p, t, threshold=threshold)) if npos else math.nan
        per_task[task] = row
    macro, undefined = {}, {}
    for name in METRICS:
        vals = [r[name] for r in per_task.values() if not math.isnan(r[name])]
        macro[name] = sum(vals) / len(vals) if vals else math.nan
        undefined[name] = len(per_task) - len(vals)
    return {"per_task": per_task, "macro": macro, "undefined": undefined}
