"""``weighting=dwa``: Dynamic Weight Average (Liu, Johns and Davison, CVPR 2019)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from mtlkit.errors import ConfigError
from mtlkit.objective.task_losses import TaskLosses
from mtlkit.objective.weighting.base import Weighting


class DynamicWeightAverage(Weighting):
    """``w_j(t) = T * softmax_j(r(t-1) / temperature)``, ``r_j(t-1) = Lbar_j(t-1) / Lbar_j(t-2)``.

    S. Liu, E. Johns, A. J. Davison, "End-to-End Multi-Task Learning with Attention", CVPR 2019. Lbar_j(e)
    is the mean of task j's global loss (``losses.values``) over the training steps of epoch e; every weight is 1
    in the first two epochs (temperature 2, as in the paper). A new epoch is detected from ``losses.epoch``. The
    running sums and the two previous epoch means are buffers: checkpointed, so a resumed run goes on exactly.

    Missing labels: an epoch mean counts only the steps in which the task had a labelled entry in the global batch.
    A task without any in epoch e-1 or e-2 has no ratio; it gets ``r_j = 1`` (the ratio of a task whose loss did
    not change), so the weights never see 0/0.
    """

    def __init__(self, tasks: Sequence[str], temperature: float = 2.0, log_every: int | None = None):
        super().__init__(tasks, log_every)
        if not temperature > 0:
            raise ConfigError(f"weighting.temperature must be > 0, got {temperature}")
        self.temperature = float(temperature)
        t = len(self.tasks)
        self.register_buffer("epoch", torch.tensor(-1, dtype=torch.long))  # the epoch being summed (-1: none yet)
        self.register_buffer("epoch_sums", torch.zeros(t))  # sum of L_j over the steps with labels of task j
        self.register_buffer("epoch_steps", torch.zeros(t))  # how many such steps
        self.register_buffer("last_means", torch.zeros(t))  # Lbar_j(e-1)
        self.register_buffer("last_seen", torch.zeros(t, dtype=torch.bool))  # task j had labels in epoch e-1
        self.register_buffer("prev_means", torch.zeros(t))  # Lbar_j(e-2)
        self.register_buffer("prev_seen", torch.zeros(t, dtype=torch.bool))

    def weights(self) -> torch.Tensor:
        """The weights of the current epoch (1 until two epoch means exist)."""
        defined = self.last_seen & self.prev_seen & (self.prev_means > 0)
        if not defined.any():
            return torch.ones_like(self.last_means)
        ratio = torch.where(defined, self.last_means / self.prev_means.clamp(min=1e-12), 1.0)
        return len(self.tasks) * torch.softmax(ratio / self.temperature, dim=0)

    @torch.no_grad()
    def _start_epoch(self, epoch: int) -> None:
        if int(self.epoch) >= 0:
            seen = self.epoch_steps > 0
            self.prev_means.copy_(self.last_means)
            self.prev_seen.copy_(self.last_seen)
            self.last_means.copy_(torch.where(seen, self.epoch_sums / self.epoch_steps.clamp(min=1), 0.0))
            self.last_seen.copy_(seen)
        self.epoch_sums.zero_()
        self.epoch_steps.zero_()
        self.epoch.fill_(epoch)

    def forward(self, losses: TaskLosses) -> torch.Tensor:
        if losses.epoch != int(self.epoch):
            self._start_epoch(losses.epoch)
        w = self.weights()
        with torch.no_grad():
            present = losses.present
            self.epoch_sums.add_(torch.where(present, losses.values.to(self.epoch_sums.dtype), 0.0))
            self.epoch_steps.add_(present.to(self.epoch_steps.dtype))
        return losses.combine(w)
