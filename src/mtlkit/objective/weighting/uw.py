"""``weighting=uw``: uncertainty weighting (Kendall, Gal and Cipolla, CVPR 2018)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from mtlkit.objective.task_losses import TaskLosses
from mtlkit.objective.weighting.base import Weighting


class UncertaintyWeighting(Weighting):
    """``J = sum_j 0.5 * (exp(-s_j) * L_j + s_j)`` with learned log-variances ``s_j = log sigma_j^2`` (init 0).

    A. Kendall, Y. Gal, R. Cipolla, "Multi-Task Learning Using Uncertainty to Weigh Losses for Scene Geometry and
    Semantics", CVPR 2018, in the common form with one log-variance per task (the weights ``0.5 exp(-s_j)``).

    Missing labels: the regulariser ``0.5 s_j`` counts only the tasks labelled in the global batch
    (``losses.present``), so a task without labels gives ``s_j`` no gradient in that step (with the regulariser
    alone ``s_j`` would drift to -inf, its weight to inf, while the task is absent).
    """

    def __init__(self, tasks: Sequence[str], log_every: int | None = None):
        super().__init__(tasks, log_every)
        self.log_vars = nn.Parameter(torch.zeros(len(self.tasks)))

    def weights(self) -> torch.Tensor:
        return 0.5 * torch.exp(-self.log_vars.detach())

    def forward(self, losses: TaskLosses) -> torch.Tensor:
        s = self.log_vars
        present = losses.present.to(s.dtype)
        return losses.combine(0.5 * torch.exp(-s)) + 0.5 * (present * s).sum()
