"""T task heads held as stacked tensors, so all heads run in one batched op instead of a loop over tasks.

Head j maps a feature vector to one logit for task j. With ``layers=1`` it is a linear map (row j of
``weight`` and ``bias[j]``); with ``layers=N`` it is an MLP of N layers, ``hidden`` units wide, per task.
Inputs are either shared features [B, F] (one backbone for all tasks) or per-task features [B, T, F]
(one backbone per task). Every head is initialised like a fresh ``nn.Linear``, independently per task.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from mtlkit.errors import ConfigError


class TaskHeads(nn.Module):
    """The heads of ``tasks`` on features of width ``in_features``; ``forward`` returns logits [B, T]."""

    def __init__(self, in_features: int, tasks: Sequence[str], layers: int = 1, hidden: int | None = None):
        super().__init__()
        if layers < 1:
            raise ConfigError(f"head layers must be >= 1, got {layers}")
        if len(set(tasks)) != len(tasks) or not tasks:
            raise ConfigError(f"tasks must be a non-empty list of distinct names, got {list(tasks)}")
        self.tasks = list(tasks)
        self.in_features = in_features
        self.layers = layers
        self.hidden = hidden or in_features
        t = len(self.tasks)
        dims = [in_features] + [self.hidden] * (layers - 1) + [1]
        self.weights = nn.ParameterList(nn.Parameter(torch.empty(t, dims[i], dims[i + 1])) for i in range(layers))
        self.biases = nn.ParameterList(nn.Parameter(torch.empty(t, dims[i + 1])) for i in range(layers))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Fresh init of every head, as ``nn.Linear`` does: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
        for w, b in zip(self.weights, self.biases):
            bound = 1.0 / math.sqrt(w.shape[1])
            nn.init.uniform_(w, -bound, bound)
            nn.init.uniform_(b, -bound, bound)

    def index(self, task: str) -> int:
        try:
            return self.tasks.index(task)
        except ValueError:
            raise ConfigError(f"unknown task {task!r}; heads exist for {self.tasks}") from None

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if self.layers == 1 and features.dim() == 2:
            return torch.addmm(self.biases[0][:, 0], features, self.weights[0][:, :, 0].t())
        h = features if features.dim() == 3 else features.unsqueeze(1).expand(-1, len(self.tasks), -1)
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.einsum("btf,tfo->bto", h, w) + b
            if i < self.layers - 1:
                h = torch.relu(h)
        return h.squeeze(-1)
