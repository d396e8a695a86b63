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

import numpy as np
import torch
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

from mtlkit.evaluation.example_metrics import decide, example_based_metrics
from mtlkit.evaluation.thresholds import choose_f1_thresholds, fixed_thresholds

METRICS = ("auroc", "ap", "acc", "f1")
RANKING = ("auroc", "ap")  # need both classes among the labelled entries
MAX_LOGGED_TASKS = 50  # up to this many tasks each epoch logs every task's metrics; over it, macro and example-based


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


def ranking_metrics(probs: np.ndarray, targets: np.ndarray) -> tuple[float, float]:
    """``(AUROC, average precision)`` of one task's labelled entries (both classes present), as scikit-learn's
    ``roc_auc_score`` and ``average_precision_score`` define them (ties: one threshold per distinct score, the ROC
    curve's trapezoid, AP's step sum); numpy on sorted scores, about 0.05 ms a task instead of a metric call's
    0.4 ms (617 tasks per validation epoch for ToxCast)."""
    order = np.argsort(-probs, kind="stable")
    scores, hits = probs[order], targets[order].astype(np.float64)
    last = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]  # the last entry of each distinct score
    tps = np.cumsum(hits)[last]
    fps = (last + 1) - tps
    n_pos, n_neg = tps[-1], fps[-1]
    tpr, fpr = np.r_[0.0, tps / n_pos], np.r_[0.0, fps / n_neg]
    auroc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
    precision = tps / (tps + fps)
    ap = float(np.sum(np.diff(tpr) * precision))
    return auroc, ap


def task_metrics(
    probs: torch.Tensor,
    targets: torch.Tensor,
    masks: torch.Tensor,
    tasks: Sequence[str],
    threshold: float | Sequence[float] = 0.5,
) -> dict:
    """``{"per_task": {task: {metric: value, "n_labelled", "n_pos"}}, "macro": {metric: mean},
    "undefined": {metric: count}}``; means skip NaN (undefined) tasks. ``threshold``: one for every task, or one
    per task (accuracy and F1 decide ``prob > threshold``).

    Accuracy and F1 come from the confusion counts of all tasks at once; AUROC and AP from
    :func:`ranking_metrics` per task on its labelled entries (docs/metrics.md; equal to scikit-learn's)."""
    thresholds = [float(threshold)] * len(tasks) if isinstance(threshold, (int, float)) else list(threshold)
    masks = masks.bool()
    decisions = decide(probs, thresholds) & masks
    truth = targets.bool() & masks
    n_lab, n_pos = masks.sum(0).tolist(), truth.sum(0).tolist()
    tp = (decisions & truth).sum(0).tolist()
    wrong = ((decisions != truth) & masks).sum(0).tolist()  # false positives + false negatives
    p_np, t_np, m_np = probs.detach().double().cpu().numpy(), truth.cpu().numpy(), masks.cpu().numpy()
    per_task: dict[str, dict[str, float]] = {}
    for j, task in enumerate(tasks):
        n, npos = int(n_lab[j]), int(n_pos[j])
        row: dict[str, float] = {"n_labelled": n, "n_pos": npos}
        if 0 < npos < n:
            m = m_np[:, j]
            row["auroc"], row["ap"] = ranking_metrics(p_np[m, j], t_np[m, j])
        else:
            row["auroc"] = row["ap"] = math.nan
        row["acc"] = (n - wrong[j]) / n if n else math.nan
        row["f1"] = 2 * tp[j] / (2 * tp[j] + wrong[j]) if npos else math.nan
        per_task[task] = row
    macro, undefined = {}, {}
    for name in METRICS:
        vals = [r[name] for r in per_task.values() if not math.isnan(r[name])]
        macro[name] = sum(vals) / len(vals) if vals else math.nan
        undefined[name] = len(per_task) - len(vals)
    return {"per_task": per_task, "macro": macro, "undefined": undefined}
