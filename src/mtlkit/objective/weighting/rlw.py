"""``weighting=rlw``: Random Loss Weighting (Lin et al., TMLR 2022)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import torch

from mtlkit.objective.task_losses import TaskLosses
from mtlkit.objective.weighting.base import Weighting


class RandomLossWeighting(Weighting):
    """``w = softmax(z)``, ``z ~ N(0, I_T)`` drawn afresh at every step; ``J = sum_j w_j L_j``.

    B. Lin, F. Ye, Y. Zhang, I. W. Tsang, "Reasonable Effectiveness of Random Weighting: A Litmus Test for
    Multi-Task Learning", TMLR 2022 (the normal-softmax variant). The weights sum to 1, not to T: compared with
    ``weighting=ew`` the loss is about T times smaller (scale the learning rate if that matters).

    z is drawn on the CPU from a ``torch.Generator`` seeded with a hash of ``(seed, losses.step)``, so every DDP
    process draws the same weights, and a resumed run draws what the uninterrupted run would have drawn: there is
    no state.

    Missing labels: a task without labelled entries in the global batch has ``L_j = 0``; its weight is drawn
    (the draw never depends on the labels) and multiplies 0.
    """

    def __init__(self, tasks: Sequence[str], seed: int = 0, log_every: int | None = None):
        super().__init__(tasks, log_every)
        self.seed = int(seed)
        self._last: torch.Tensor | None = None

    def draw(self, step: int) -> torch.Tensor:
        """The weights ``[T]`` of training step ``step`` (on the CPU)."""
        # The CPU generator keeps 32 bits of its seed: hash (seed, step) into them rather than drop the seed.
        key = hashlib.blake2b(f"{self.seed}/{int(step)}".encode(), digest_size=4).digest()
        generator = torch.Generator().manual_seed(int.from_bytes(key, "little"))
        return torch.softmax(torch.randn(len(self.tasks), generator=generator), dim=0)

    def weights(self) -> torch.Tensor | None:
        return self._last

    def forward(self, losses: TaskLosses) -> torch.Tensor:
        w = self.draw(losses.step).to(device=losses.sums.device, dtype=losses.values.dtype)
        self._last = w
        return losses.combine(w)
