"""Closing a run's loggers, so that the next job of a multirun (or the next stage of a run) logs into its own."""

from __future__ import annotations

import pytorch_lightning as pl
from pytorch_lightning.loggers import WandbLogger


def finish_loggers(trainer: pl.Trainer) -> None:
    """Close wandb runs, so that the next job of a multirun logs into a run of its own."""
    for lg in trainer.loggers:
        if isinstance(lg, WandbLogger):
            import wandb

            wandb.finish()
