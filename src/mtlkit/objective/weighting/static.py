"""``weighting=static``: fixed task weights chosen by task name."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch

from mtlkit.errors import ConfigError
from mtlkit.objective.task_losses import TaskLosses
from mtlkit.objective.weighting.base import Weighting


class StaticWeighting(Weighting):
    """``J = sum_j w_j L_j`` with fixed weights: ``weighting.weights={pedestrian: 4}``; tasks not named weigh 1.

    Missing labels: a task with no labelled entry in the global batch has ``L_j = 0`` and adds nothing, whatever
    its weight. Weights must be finite and >= 0; a name that is not a task is a :class:`ConfigError`.
    """

    def __init__(self, tasks: Sequence[str], weights: Mapping[str, float] | None = None, log_every: int | None = None):
        super().__init__(tasks, log_every)
        given = dict(weights or {})
        unknown = sorted(str(k) for k in given if k not in self.tasks)
        if unknown:
            raise ConfigError(f"weighting.weights names unknown task(s) {unknown}; the tasks are {self.tasks}")
        values = []
        for task in self.tasks:
            try:
                value = float(given.get(task, 1.0))
            except (TypeError, ValueError):
                raise ConfigError(f"weighting.weights.{task} must be a number, got {given[task]!r}") from None
            if not math.isfinite(value) or value < 0:
                raise ConfigError(f"weighting.weights.{task} must be finite and >= 0, got {value}")
            values.append(value)
        # Not persistent: the config is the truth (a checkpoint rebuilds the weighting from its stored config).
        self.register_buffer("task_weights", torch.tensor(values), persistent=False)

    def weights(self) -> torch.Tensor:
        return self.task_weights.clone()

    def forward(self, losses: TaskLosses) -> torch.Tensor:
        return losses.combine(self.task_weights)
