"""The evaluation a :class:`~mtlkit.models.module.MultiTaskModule` owns: the val/test metric states, the decision
thresholds (``eval.threshold``), each epoch's results and what it logs.

Built from the run's ``eval:`` block in one place (:meth:`Evaluator.from_config`). A fixed ``eval.threshold``
decides ``prob > t`` with the same ``t`` for every task; ``val_f1`` chooses one threshold per task at the end of
every validation epoch (:func:`~mtlkit.evaluation.thresholds.choose_f1_thresholds`), and test is scored with the
thresholds the last validation chose. Those thresholds travel in the checkpoint (:meth:`checkpoint_entry`,
:meth:`restore`) for ``mtlkit-predict`` and for a test run on the best checkpoint.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn
from torchmetrics import MeanMetric

from mtlkit.evaluation.example_metrics import EXAMPLE_METRICS
from mtlkit.evaluation.metrics import MAX_LOGGED_TASKS, METRICS, MaskedMultilabelMetrics
from mtlkit.evaluation.thresholds import DEFAULT_THRESHOLD, VAL_F1, fixed_thresholds, threshold_rule

EVAL_SPLITS = ("val", "test")
PROGRESS_BAR = "auroc"  # the macro metric shown on the progress bar


class Evaluator(nn.Module):
    """Per split (``val``, ``test``): the metric states (:class:`MaskedMultilabelMetrics`, gathered from every
    process, so exact under DDP) and the mean evaluation loss; the decision thresholds; ``results`` (the last
    epoch's of each split, for results.json).

    Args:
        tasks: task names, in the heads' order.
        threshold: ``eval.threshold``, a probability or ``"val_f1"`` (checked: a one-line ConfigError otherwise).
    """

    def __init__(self, tasks: Sequence[str], threshold: float | str = DEFAULT_THRESHOLD):
        super().__init__()
        self.tasks = list(tasks)
        self.rule = threshold_rule(threshold)
        fixed = DEFAULT_THRESHOLD if self.rule == VAL_F1 else float(self.rule)
        # The thresholds test is scored with: the fixed one, or (val_f1) those the last validation chose.
        self.decision_thresholds: dict[str, Any] | None = (
            None if self.rule == VAL_F1 else fixed_thresholds(fixed, self.tasks)
        )
        self.metrics = nn.ModuleDict({s: MaskedMultilabelMetrics(self.tasks, fixed) for s in EVAL_SPLITS})
        self.loss = nn.ModuleDict({s: MeanMetric() for s in EVAL_SPLITS})  # sum of losses / sum of divisors
        self.results: dict[str, dict] = {}

    @classmethod
    def from_config(cls, eval_config: Mapping[str, Any] | None, tasks: Sequence[str]) -> Evaluator:
        """The evaluator of a run's ``eval:`` block (``eval.threshold``; 0.5 when the block or key is absent)."""
        return cls(tasks, (eval_config or {}).get("threshold", DEFAULT_THRESHOLD))

    def update(
        self,
        split: str,
        logits: torch.Tensor,
        y: torch.Tensor,
        mask: torch.Tensor,
        loss: torch.Tensor,
        loss_weight: torch.Tensor | float,
    ) -> None:
        """Add one batch of ``split``: its logits, labels and mask, and its loss with its weight in the epoch mean."""
        self.loss[split].update(loss, weight=loss_weight)
        self.metrics[split].update(torch.sigmoid(logits), y, mask)

    def epoch_end(self, split: str, choose_thresholds: bool = True) -> dict[str, tuple[torch.Tensor | float, bool]]:
        """Compute ``split``'s epoch (kept in ``results[split]``), reset its states, and return what to log:
        ``{name: (value, on the progress bar)}``. On ``val`` with ``eval.threshold=val_f1`` the thresholds are
        chosen first, unless ``choose_thresholds`` is False (Lightning's sanity check)."""
        metric = self.metrics[split]
        metric.choose_thresholds = split == "val" and self.rule == VAL_F1 and choose_thresholds
        if not metric.choose_thresholds and self.decision_thresholds is not None:
            metric.thresholds = self.decision_thresholds
        res = metric.compute()
        if metric.choose_thresholds:
            self.decision_thresholds = metric.thresholds
        elif self.decision_thresholds is None:  # val_f1 before any validation chose thresholds
            res["thresholds"]["note"] = f"{VAL_F1} thresholds not chosen yet (no validation epoch ran): 0.5 used"
        loss = self.loss[split].compute()
        # Fresh states must be normal tensors: made under Lightning's inference mode they could not be updated
        # by a later fit of the same module (finetune=lp_ft fits twice).
        with torch.inference_mode(False):
            metric.reset()
            self.loss[split].reset()
        self.results[split] = res
        return self.logged(split, res, loss)

    def logged(self, split: str, res: dict, loss: torch.Tensor | float) -> dict[str, tuple[torch.Tensor | float, bool]]:
        """What an epoch of ``split`` logs: the loss, the macro metrics, every task's metrics up to
        ``MAX_LOGGED_TASKS`` tasks (over it they stay in results.json only: 2,468 values at ToxCast), and the
        example-based metrics."""
        out: dict[str, tuple[torch.Tensor | float, bool]] = {f"{split}/loss": (loss, False)}
        for name in METRICS:
            out[f"{split}/{name}_macro"] = (res["macro"][name], name == PROGRESS_BAR)
        if len(self.tasks) <= MAX_LOGGED_TASKS:
            for task, row in res["per_task"].items():
                for name in METRICS:
                    out[f"{split}/{name}/{task}"] = (row[name], False)
        for name in EXAMPLE_METRICS:
            out[f"{split}/{name}"] = (res["example_based"][name], False)
        return out

    def checkpoint_entry(self) -> dict[str, Any] | None:
        """What the checkpoint keeps (``checkpoint["mtlkit"]["eval_threshold"]``): the thresholds test was (or will
        be) scored with; None while ``val_f1`` has not chosen any."""
        return self.decision_thresholds

    def restore(self, saved: Mapping[str, Any] | None) -> None:
        """Take the ``val_f1`` thresholds a checkpoint stores (those validation chose for its weights); a fixed rule
        keeps its own threshold."""
        if saved is not None and self.rule == VAL_F1 and saved.get("rule") == VAL_F1:
            self.decision_thresholds = dict(saved)
