"""The run's loggers: a quiet Weights & Biases logger, and closing loggers so that the next job of a multirun (or
the next stage of a run) logs into a run of its own."""

from __future__ import annotations

import os
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.loggers import WandbLogger as LightningWandbLogger


class WandbLogger(LightningWandbLogger):
    """Lightning's ``WandbLogger`` (same arguments) without its two spurious warnings.

    - Lightning always passes ``anonymous=None`` to ``wandb.init``, and wandb >= 0.19 warns about *any* value
      ("The anonymous setting has no effect"): the key is dropped unless ``anonymous`` was asked for.
    - wandb looks for a git repository from ``save_dir``; a folder that does not exist yet (a transfer run's
      ``pretrain/``) gives "git root ... does not exist": the folder is made first.
    """

    def __init__(self, *args: Any, anonymous: bool | None = None, **kwargs: Any):
        super().__init__(*args, anonymous=anonymous, **kwargs)
        if not anonymous:
            self._wandb_init.pop("anonymous", None)
        for key in ("dir", "save_dir"):
            folder = self._wandb_init.get(key)
            if folder:
                os.makedirs(os.fspath(folder), exist_ok=True)


def finish_loggers(trainer: pl.Trainer) -> None:
    """Close wandb runs, so that the next job of a multirun logs into a run of its own."""
    for lg in trainer.loggers:
        if isinstance(lg, LightningWandbLogger):
            import wandb

            wandb.finish()
