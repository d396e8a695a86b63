"""``weighting=imtl_l``: the loss balance of IMTL (Liu et al., ICLR 2021), IMTL-L."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from mtlkit.objective.task_losses import TaskLosses
from mtlkit.objective.weighting.base import Weighting


class IMTLLossBalance(Weighting):
    """``J = sum_j (exp(s_j) * L_j - s_j)`` with learned scales ``s_j`` (init 0): at the optimum in ``s``,
    every scaled loss ``exp(s_j) L_j`` equals 1.

    L. Liu, Y. Li, Z. Kuang, J.-H. Xue, Y. Chen, W. Yang, Q. Liao, W. Zhang, "Towards Impartial Multi-task
    Learning", ICLR 2021 (the loss-balance part, IMTL-L).

    Missing labels: the term ``-s_j`` counts only the tasks labelled in the global batch (``losses.present``), so
    a task without labels gives ``s_j`` no gradient in that step (with ``-s_j`` alone ``s_j`` would grow without
    bound and ``exp(s_j)`` overflow while the task is absent).
    """

    def __init__(self, tasks: Sequence[str], log_every: int | None = None):
        super().__init__(tasks, log_every)
        self.scales = nn.Parameter(torch.zeros(len(self.tasks)))

    def weights(self) -> torch.Tensor:
        return torch.exp(self.scales.detach())

    def forward(self, losses: TaskLosses) -> torch.Tensor:
        s = self.scales
        present = losses.present.to(s.dtype)
        return losses.combine(torch.exp(s)) - (present * s).sum()
