"""A progress line per epoch (and every ``every_s`` seconds) when the output is not a terminal (SLURM, ``| tee``,
CI), where the progress bar shows nothing between the start of training and its end."""

from __future__ import annotations

import sys
import time
from typing import Any

import pytorch_lightning as pl

_SHOWN = ("train/loss_epoch", "train/loss", "val/loss", "val/auroc_macro")


def _is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


class ProgressLog(pl.Callback):
    """Print ``[mtlkit] epoch 3/8 done (step 240): train/loss 0.41, val/auroc_macro 0.873; 12 s`` at the end of
    every training epoch, and ``[mtlkit] epoch 3/8, batch 40/80 (step 200); 9 s`` every ``every_s`` seconds within
    one (null: never). Only when stdout is not a terminal, unless ``always=true``."""

    def __init__(self, every_s: float | None = 60.0, always: bool = False):
        self.every_s = every_s
        self.always = always
        self._start = self._last = 0.0

    def _active(self, trainer: pl.Trainer) -> bool:
        return trainer.is_global_zero and not trainer.sanity_checking and (self.always or not _is_terminal())

    def _epochs(self, trainer: pl.Trainer) -> str:
        total = trainer.max_epochs
        return f"{trainer.current_epoch + 1}/{total}" if total and total > 0 else str(trainer.current_epoch + 1)

    def _print(self, text: str) -> None:
        print(f"[mtlkit] {text}; {time.perf_counter() - self._start:.0f} s", flush=True)

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._start = self._last = time.perf_counter()

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any, **kw: Any) -> None:
        if not self.every_s or not self._active(trainer) or time.perf_counter() - self._last < self.every_s:
            return
        self._last = time.perf_counter()
        batches = trainer.num_training_batches
        of = f"/{batches}" if isinstance(batches, int) else ""
        self._print(f"epoch {self._epochs(trainer)}, batch {args[-1] + 1}{of} (step {trainer.global_step})")

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self._active(trainer):
            return
        self._last = time.perf_counter()
        metrics = trainer.callback_metrics
        keys = [k for k in _SHOWN if k in metrics and not (k == "train/loss" and "train/loss_epoch" in metrics)]
        shown = ", ".join(f"{k.replace('_epoch', '')} {float(metrics[k]):.4g}" for k in keys)
        self._print(
            f"epoch {self._epochs(trainer)} done (step {trainer.global_step})" + (f": {shown}" if shown else "")
        )
