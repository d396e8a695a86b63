"""The Lightning callback that stops a diverged run: a training loss that is not finite, or that has grown to more
than :data:`DIVERGENCE_FACTOR` times the first loss of the fit (or of 1, whichever is larger).

The rule is deliberately conservative: a run that learns lowers its loss, and a normal run's spikes stay within a
few times its first value; a loss a thousand times its start only comes from steps that are far too large (a
learning rate of 1e6 took the loss from 3 to 6e15 in a few steps). The check reads the module's training loss, which
it records at every step in automatic and in manual optimisation (gradient-method weightings) alike; under DDP that
value is the global batch's, the same on every process, so every process stops at the same step.
"""

from __future__ import annotations

import math
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback

from mtlkit.errors import MtlkitError

DIVERGENCE_FACTOR = 1e3
LOSS_KEYS = ("train/loss_step", "train/loss")
CHECK_EVERY_ACCELERATOR = 50  # steps between two reads of the verdict where a read is a device sync


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
    """Raise :class:`TrainingDivergedError` (one line: the step, the loss, the likely fix) for the first training
    step whose loss :func:`diverged`; the run then ends with a non-zero exit code and writes no results.json.

    The rule is applied on the loss's device at every step (a few scalar operations, no sync): the first finite
    loss and the first diverged step are kept there. Reading the verdict is a device sync, so it is read every
    ``check_every`` steps and at the end of every training epoch (None: every step on the CPU, where reading costs
    nothing, every :data:`CHECK_EVERY_ACCELERATOR` steps elsewhere); a diverged run then stops at most that many
    steps late, naming the step that diverged. The loss is the module's ``last_train_loss`` (a detached tensor,
    :class:`~mtlkit.models.module.MultiTaskModule`), else the logged ``train/loss``.
    """

    def __init__(self, factor: float = DIVERGENCE_FACTOR, check_every: int | None = None):
        if check_every is not None and check_every < 1:
            raise ValueError(f"check_every must be >= 1 or None, got {check_every}")
        self.factor = factor
        self.check_every = check_every
        self.reset()

    def reset(self) -> None:
        """Forget the fit's losses (a new fit starts)."""
        self.first: torch.Tensor | None = None  # the first finite loss (NaN: none yet)
        self.bad_step: torch.Tensor | None = None  # the first diverged step (-1: none)
        self.bad_loss: torch.Tensor | None = None

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.reset()

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any, **kw: Any) -> None:
        loss = _step_loss(trainer, pl_module)
        if loss is None:
            return
        self.watch(loss, trainer.global_step)
        every = self.check_every or (1 if loss.device.type == "cpu" else CHECK_EVERY_ACCELERATOR)
        if trainer.global_step % every == 0:
            self.check(pl_module)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.check(pl_module)

    def watch(self, loss: torch.Tensor, step: int) -> None:
        """Apply the rule to one step's ``loss`` on its device, keeping the first diverged step (no sync)."""
        dtype = torch.float32 if loss.device.type == "mps" else torch.float64  # MPS has no float64
        loss = loss.detach().to(dtype).reshape(())
        if self.first is None or self.bad_step is None or self.bad_loss is None:
            self.first = torch.full((), math.nan, dtype=dtype, device=loss.device)
            self.bad_step = torch.full((), -1, dtype=torch.long, device=loss.device)
            self.bad_loss = torch.full((), math.nan, dtype=dtype, device=loss.device)
        finite = torch.isfinite(loss)
        first = torch.where(torch.isnan(self.first) & finite, loss, self.first)
        limit = self.factor * torch.where(torch.isnan(first), 1.0, first).clamp(min=1.0)
        new = (~finite | (loss > limit)) & (self.bad_step < 0)
        self.first = first
        self.bad_step = torch.where(new, step, self.bad_step)
        self.bad_loss = torch.where(new, loss, self.bad_loss)

    def check(self, pl_module: pl.LightningModule) -> None:
        """Raise if a watched step diverged (one device sync)."""
        if self.bad_step is None or self.bad_loss is None or self.first is None:
            return
        step = int(self.bad_step)
        if step < 0:
            return
        loss, first_value = float(self.bad_loss), float(self.first)
        why = "non-finite" if not math.isfinite(loss) else "exploded"
        first = f"{first_value:.3g}" if math.isfinite(first_value) else "none finite"
        what = "is not finite" if why == "non-finite" else f"is more than {self.factor:g} x the first loss {first}"
        raise TrainingDivergedError(
            f"training diverged at step {step}: train/loss={loss:.3g} {what}; no results were "
            f"written. Likely fix: lower optimizer.lr{_configured_lr(pl_module)}, or clip gradients with "
            "trainer.gradient_clip_val=1.0"
        )


def _step_loss(trainer: pl.Trainer, pl_module: pl.LightningModule) -> torch.Tensor | None:
    """This step's training loss: the module's ``last_train_loss``, else the logged ``train/loss``."""
    loss = getattr(pl_module, "last_train_loss", None)
    if loss is None:
        metrics = trainer.callback_metrics
        loss = next((metrics[k] for k in LOSS_KEYS if k in metrics), None)
    return None if loss is None else torch.as_tensor(loss)


def _configured_lr(pl_module: pl.LightningModule) -> str:
    """`` (now 0.1)``: the configured learning rate that the module's checkpoint meta records, if any."""
    config = (getattr(pl_module, "meta", None) or {}).get("config") or {}
    lr = (config.get("optimizer") or {}).get("lr")
    return f" (now {lr:g})" if isinstance(lr, (int, float)) else ""
