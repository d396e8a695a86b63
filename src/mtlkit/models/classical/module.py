"""The fitted per-task estimators as a torch module, so that ``mtlkit-predict`` scores a classical run exactly as it
scores a network: ``forward(x)`` returns logits, whose sigmoid is each task's ``predict_proba``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from mtlkit.models.classical.per_task import predict_per_task


class EstimatorsModule(nn.Module):
    """One fitted scikit-learn classifier per task; no torch parameter."""

    architecture = "classical"

    def __init__(self, tasks: Sequence[str], estimators: Mapping[str, Any]):
        super().__init__()
        self.tasks = list(tasks)
        self.estimators = dict(estimators)

    def probabilities(self, x: torch.Tensor | np.ndarray) -> torch.Tensor:
        """P(label = 1) [N, T], float64."""
        features = x.detach().cpu().double().numpy() if isinstance(x, torch.Tensor) else np.asarray(x, np.float64)
        return torch.from_numpy(predict_per_task(self.estimators, self.tasks, features.reshape(len(features), -1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.logit(self.probabilities(x))  # +-inf for a constant 0 or 1: its sigmoid gives it back
