"""One fit of a module followed by the evaluation of its best checkpoint: the step every approach repeats."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ModelCheckpoint

from mtlkit.console import get_console
from mtlkit.data.base import MultiLabelDataModule
from mtlkit.models.module import MultiTaskModule


@dataclass
class FitResult:
    """Metrics on val and test of the evaluated weights, where they came from, how long it took, and what the task
    gradient monitor saw during the fit (``task_gradients`` / ``task_weights`` entries of results.json)."""

    metrics: dict[str, Any]
    best_checkpoint: str | None
    epochs: int
    global_steps: int
    timings: dict[str, float]
    task_gradients: dict[str, Any] = field(default_factory=dict)


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
    get_console().print(module.weighting.describe(), highlight=False, soft_wrap=True)
    t0 = time.perf_counter()
    trainer.fit(module, datamodule=dm, ckpt_path=ckpt_path)
    fit_s = time.perf_counter() - t0
    task_gradients = module.task_gradient_record()  # of this fit, before a checkpoint is loaded for evaluation
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
        task_gradients=task_gradients,
    )
