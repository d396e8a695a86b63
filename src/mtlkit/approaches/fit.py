"""One fit of a module followed by the evaluation of its best checkpoint: the step every approach repeats."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ModelCheckpoint

from mtlkit.data.base import MultiLabelDataModule
from mtlkit.models.module import MultiTaskModule


@dataclass
class FitResult:
    """Metrics on val and test of the evaluated weights, where they came from, and how long it took."""

    metrics: dict[str, Any]
    best_checkpoint: str | None
    epochs: int
    global_steps: int
    timings: dict[str, float]


def best_checkpoint(trainer: pl.Trainer) -> str | None:
    """The best checkpoint the Trainer's ModelCheckpoint kept, if any."""
    cb = trainer.checkpoint_callback
    if isinstance(cb, ModelCheckpoint) and cb.best_model_path and Path(cb.best_model_path).exists():
        return cb.best_model_path
    return None


def fit_and_evaluate(
    trainer: pl.Trainer, module: MultiTaskModule, dm: MultiLabelDataModule, ckpt_path: str | None = None
) -> FitResult:
    """Fit, then evaluate the best checkpoint (or the final weights) on val and test."""
    t0 = time.perf_counter()
    trainer.fit(module, datamodule=dm, ckpt_path=ckpt_path)
    fit_s = time.perf_counter() - t0
    best = best_checkpoint(trainer)
    t1 = time.perf_counter()
    trainer.validate(module, datamodule=dm, ckpt_path=best, verbose=False)
    trainer.test(module, datamodule=dm, ckpt_path=best, verbose=False)
    return FitResult(
        metrics={s: module.results[s] for s in ("val", "test") if s in module.results},
        best_checkpoint=best,
        epochs=trainer.current_epoch,
        global_steps=trainer.global_step,
        timings={"fit_s": fit_s, "evaluate_s": time.perf_counter() - t1},
    )
