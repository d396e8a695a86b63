"""The training loss as a run logs it, kept on the device: no per-step ``self.log`` and no per-step device sync.

Lightning's ``self.log(..., on_step=True, on_epoch=True, prog_bar=True)`` at every step cost about a third of the
Trainer's own per-step time on a small model (``scripts/bench.py``, docs/benchmarks.md), and the progress bar
turned the value into a Python float at every step (a GPU sync). :class:`TrainLoss` keeps the last value and the
epoch's batch-size-weighted sum on the device; the module logs ``train/loss_step`` only at the steps the loggers
write (``trainer.log_every_n_steps``) and ``train/loss_epoch`` once an epoch, the same names and values as before.
"""

from __future__ import annotations

import torch


class TrainLoss:
    """Each step's loss (``last``, detached, on its device) and the epoch's mean weighted by the number of examples,
    computed as Lightning's on-epoch mean does (sum of ``loss * m`` over the sum of ``m``)."""

    def __init__(self) -> None:
        self.last: torch.Tensor | None = None
        self.reset()

    def reset(self) -> None:
        """Start a new epoch (``last`` is kept: the divergence check may still read it)."""
        self._sum: torch.Tensor | None = None
        self._count: torch.Tensor | int = 0

    def add(self, value: torch.Tensor, examples: torch.Tensor | int) -> None:
        """One step's loss of ``examples`` examples (a tensor stays on the device: no sync)."""
        value = value.detach()
        if value.dtype not in (torch.float32, torch.float64):
            value = value.float()
        self.last = value
        weighted = value * examples
        self._sum = weighted if self._sum is None else self._sum + weighted
        self._count = self._count + examples

    def epoch_mean(self) -> torch.Tensor | None:
        """The epoch's mean so far, or None before its first step."""
        return None if self._sum is None else self._sum / self._count
