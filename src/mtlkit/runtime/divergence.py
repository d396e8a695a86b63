"""The Lightning callback that stops a diverged run: a training loss that is not finite, or that has grown to more
than :data:`DIVERGENCE_FACTOR` times the first loss of the fit (or of 1, whichever is larger).

The rule is deliberately conservative: a run that learns lowers its loss, and a normal run's spikes stay within a
few times its first value; a loss a thousand times its start only comes from steps that are far too large (a
learning rate of 1e6 took the loss from 3 to 6e15 in a few steps). The check reads ``train/loss``, which the module
logs at every step in automatic and in manual optimisation (gradient-method weightings) alike; under DDP that value
is the global batch's, the same on every process, so every process stops at the same step.
"""

from __future__ import annotations

import math
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback

from mtlkit.errors import MtlkitError

DIVERGENCE_FACTOR = 1e3
LOSS_KEYS = ("train/loss_step", "train/loss")


class TrainingDivergedError(MtlkitError):
    """The training loss became non-finite or exploded: nothing the run would report could be trusted."""


def diverged(loss: float, first: float, factor: float = DIVERGENCE_FACTOR) -> str | None:
    """Why ``loss`` counts as diverged given the fit's ``first`` loss (``non-finite``, ``exploded``), or None."""
    if not math.isfinite(loss):
        return "non-finite"
    if loss > factor * max(first, 1.0):
        return "exploded"
    return None


class DivergenceStop(Callback):
    """Raise :class:`TrainingDivergedError` (one line: the step, the loss, the likely fix) at the first training
    step whose loss :func:`diverged`; the run then ends with a non-zero exit code and writes no results.json."""

    def __init__(self, factor: float = DIVERGENCE_FACTOR):
        self.factor = factor
        self.first: float | None = None

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.first = None

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any, **kw: Any) -> None:
        metrics = trainer.callback_metrics
        value = next((metrics[k] for k in LOSS_KEYS if k in metrics), None)
        if value is None:
            return
        loss = float(value)
        if self.first is None and math.isfinite(loss):
            self.first = loss
        why = diverged(loss, self.first if self.first is not None else 1.0, self.factor)
        if why is None:
            return
        first = f"{self.first:.3g}" if self.first is not None else "none finite"
        what = "is not finite" if why == "non-finite" else f"is more than {self.factor:g} x the first loss {first}"
        raise TrainingDivergedError(
            f"training diverged at step {trainer.global_step}: train/loss={loss:.3g} {what}; no results were "
            f"written. Likely fix: lower optimizer.lr{_configured_lr(pl_module)}, or clip gradients with "
            "trainer.gradient_clip_val=1.0"
        )


def _configured_lr(pl_module: pl.LightningModule) -> str:
    """`` (now 0.1)``: the configured learning rate that the module's checkpoint meta records, if any."""
    config = (getattr(pl_module, "meta", None) or {}).get("config") or {}
    lr = (config.get("optimizer") or {}).get("lr")
    return f" (now {lr:g})" if isinstance(lr, (int, float)) else ""
