"""Lightning callbacks for runs that survive interruptions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Checkpoint
from pytorch_lightning.utilities.exceptions import SIGTERMException
from pytorch_lightning.utilities.rank_zero import rank_zero_info

from mtlkit.errors import ConfigError

LAST_CHECKPOINT = "last.ckpt"


class LastCheckpoint(Checkpoint):
    """Keeps ``<dirpath>/last.ckpt`` at the latest training state, the file ``ckpt_path=last`` resumes from.

    It is written every ``every_n_train_steps`` optimizer steps (mid-epoch, if set), at the end of every training
    epoch, and when the process receives SIGTERM (SLURM pre-emption, ``kill``): Lightning turns SIGTERM into an
    exception after the current step, on every process at once, and this callback saves before the run exits.
    The checkpoint holds the model, optimizer, scheduler, loops, callbacks and the data module's position in the
    epoch (:mod:`mtlkit.data.sampling`), so a resumed run continues where this one stood.
    """

    def __init__(self, dirpath: str | Path, every_n_train_steps: int | None = None, on_sigterm: bool = True):
        super().__init__()
        if every_n_train_steps is not None and every_n_train_steps < 1:
            raise ConfigError(f"every_n_train_steps must be >= 1 or null, got {every_n_train_steps}")
        self.dirpath = Path(dirpath)
        self.every_n_train_steps = every_n_train_steps
        self.on_sigterm = on_sigterm
        self._saved_step: int | None = None

    @property
    def path(self) -> Path:
        return self.dirpath / LAST_CHECKPOINT

    @property
    def state_key(self) -> str:
        return f"{type(self).__name__}[dirpath={self.dirpath}]"

    def _save(self, trainer: pl.Trainer) -> None:
        if trainer.fast_dev_run or trainer.sanity_checking or self._saved_step == trainer.global_step:
            return
        trainer.save_checkpoint(self.path)
        self._saved_step = trainer.global_step

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any, **kw: Any) -> None:
        n = self.every_n_train_steps
        if n and trainer.global_step % n == 0:
            self._save(trainer)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._save(trainer)

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        # Lightning turns SIGTERM into an exception at a step boundary, on every process at once, so the state is
        # consistent and every process can take part in the save. Other interruptions (Ctrl+C, a sys.exit from a
        # signal handler) can land mid-step: the last periodic checkpoint is the safe point to resume from then.
        stop = self.on_sigterm and isinstance(exception, SIGTERMException)
        if stop and trainer.state.fn == "fit":
            self._save(trainer)
            rank_zero_info(
                f"SIGTERM: saved {self.path} at step {trainer.global_step}; resume with "
                f"`mtlkit-train resume={self.dirpath.parent}`"
            )
