"""``weighting=task_mean``: each task's loss is the mean over its own labelled entries of the global batch."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from mtlkit.objective.task_losses import TaskLosses
from mtlkit.objective.weighting.base import Weighting


class TaskMeanWeighting(Weighting):
    """``J = sum_j S_j / n_j``: task j's summed loss over its ``n_j`` labelled entries of the global batch.

    Implemented as the weights ``w_j = D_j / max(n_j, 1)`` on ``L_j = S_j / D_j`` (``losses.divisors``,
    ``losses.counts``), so that a rarely labelled task is not drowned by the m (or all-label) divisor of the
    seed formula. Missing labels: a task with ``n_j = 0`` has ``S_j = 0`` and its weight ``D_j`` is finite, so it
    adds exactly 0 (never 0/0).
    """

    def __init__(self, tasks: Sequence[str], log_every: int | None = None):
        super().__init__(tasks, log_every)
        self._last: torch.Tensor | None = None

    @staticmethod
    def task_weights(losses: TaskLosses) -> torch.Tensor:
        """``[T]``: ``D_j / max(n_j, 1)``."""
        if losses.counts is None:
            raise ValueError("weighting=task_mean needs the per-task label counts of the batch (TaskLosses.counts)")
        return losses.divisors / losses.counts.clamp(min=1)

    def weights(self) -> torch.Tensor | None:
        return self._last

    def forward(self, losses: TaskLosses) -> torch.Tensor:
        w = self.task_weights(losses)
        self._last = w.detach()
        return losses.combine(w)
