"""The masked per-task loss of a batch, in the two normalisations mtlkit trains with.

``shared`` divisor (the seed formula, every shared network): ``J = sum_j S_j / D``, with D the batch's m
(``loss.normalization=examples``) or its number of counted entries (``labels``). ``per_task`` divisors
(``approach=separate``): ``J = sum_j S_j / D_j``, so that task j's loss never depends on another task's labels.
``groups`` (``approach=grouped``): each group of tasks has the divisor its own shared network would have,
``J = sum_g sum_{j in g} S_j / D_g``, so that a group's loss never depends on another group's labels.
S_j is task j's logistic loss summed over its counted entries (:mod:`mtlkit.objective.masked_bce`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mtlkit.objective.masked_bce import check_options, masked_bce_terms_per_task
from mtlkit.objective.task_losses import TaskLosses, task_losses


@dataclass(frozen=True)
class MaskedTaskLoss:
    """Per-task loss terms of a batch; ``per_task=True`` gives every task its own divisor, ``groups`` (the group
    index of each task) every group its own."""

    normalization: str = "examples"
    unknown: str = "ignore"
    per_task: bool = False
    groups: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        check_options(self.normalization, self.unknown)

    def terms(
        self, logits: torch.Tensor, y: torch.Tensor, mask: torch.Tensor, pos_weight: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(sums [T], divisor)``: the divisor is a scalar shared by the tasks, or ``[T]`` with ``per_task``
        (each task's) or ``groups`` (each task's group's)."""
        sums, divisors = masked_bce_terms_per_task(logits, y, mask, self.normalization, self.unknown, pos_weight)
        if self.groups is not None:
            index = torch.tensor(self.groups, device=divisors.device)
            if self.normalization == "examples":
                return sums, divisors  # m for every task
            totals = torch.zeros(max(self.groups) + 1, device=divisors.device).index_add_(0, index, divisors)
            return sums, totals[index]
        if self.per_task:
            return sums, divisors
        return sums, divisors[0] if self.normalization == "examples" else divisors.sum()

    def task_losses(
        self, logits: torch.Tensor, y: torch.Tensor, mask: torch.Tensor, pos_weight: torch.Tensor | None = None
    ) -> TaskLosses:
        """The :class:`TaskLosses` of this process's share of the global batch (one all-reduce under DDP)."""
        sums, divisor = self.terms(logits, y, mask, pos_weight)
        counts = torch.full_like(sums, len(y)) if self.unknown == "negative" else mask.sum(0).to(sums.dtype)
        return task_losses(sums, divisor, len(y), counts=counts)

    def eval_value(
        self, logits: torch.Tensor, y: torch.Tensor, mask: torch.Tensor, pos_weight: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, float]:
        """``(loss of the batch, its weight in the epoch's mean)``: the epoch's loss is the seed loss of the split
        (sum of the losses over the sum of the divisors), or, with per-task divisors, the m-weighted mean."""
        sums, divisor = self.terms(logits, y, mask, pos_weight)
        if self.per_task or self.groups is not None:
            return (sums / divisor.clamp(min=1)).sum(), len(y)
        return sums.sum() / divisor.clamp(min=1), divisor
