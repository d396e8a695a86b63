"""Test-only methods that prove the weighting seam (mtlkit.objective.weighting) before real methods exist.

They plug in as a user's own method would, by ``_target_`` from outside the package:
``weighting._target_=tests.helpers.weightings.LearnedScales`` (a loss weighting with a parameter, a buffer and
extra state) and ``weighting._target_=tests.helpers.weightings.UnitNormMean`` (a gradient method).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from mtlkit.objective import GradientWeighting, TaskLosses, Weighting


class LearnedScales(Weighting):
    """``w = T * softmax(logits)``, with ``logits`` learned, a step counter buffer and a note in extra state."""

    lr_scale = 10.0

    def __init__(self, tasks: Sequence[str], init: float = 0.0, log_every: int | None = None):
        super().__init__(tasks, log_every)
        self.logits = nn.Parameter(torch.full((len(self.tasks),), float(init)))
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))
        self.note = "fresh"

    def weights(self) -> torch.Tensor:
        return len(self.tasks) * torch.softmax(self.logits, 0)

    def forward(self, losses: TaskLosses) -> torch.Tensor:
        self.steps += 1
        self.note = f"after step {int(self.steps)}"
        return losses.combine(self.weights())

    def get_extra_state(self) -> Any:
        return {"note": self.note}

    def set_extra_state(self, state: Any) -> None:
        self.note = state["note"]


class UnitNormMean(GradientWeighting):
    """The mean of the task gradients scaled to unit norm (tasks without gradient left out): non-linear in the
    Jacobian, so aggregating each process's share instead of the global Jacobian would give another direction."""

    def aggregate(self, jacobian: torch.Tensor, losses: TaskLosses) -> torch.Tensor:
        norms = jacobian.norm(dim=1, keepdim=True)
        rows = jacobian[norms.squeeze(1) > 0] / norms[norms.squeeze(1) > 0]
        return rows.mean(0) if len(rows) else torch.zeros_like(jacobian[0])
