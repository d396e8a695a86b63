"""``weighting=ew``: equal weighting, the seed formula itself (the default)."""

from __future__ import annotations

import torch

from mtlkit.objective.task_losses import TaskLosses
from mtlkit.objective.weighting.base import Weighting


class EqualWeighting(Weighting):
    """Every task weighs 1: ``J = sum_j L_j``, bit-identical to the masked seed loss (docs/loss.md)."""

    def forward(self, losses: TaskLosses) -> torch.Tensor:
        return losses.combine()
