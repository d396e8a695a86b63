"""The Lightning callback that keeps ``last.ckpt``, so that runs survive interruptions."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Checkpoint
from pytorch_lightning.utilities.exceptions import SIGTERMException
from pytorch_lightning.utilities.rank_zero import rank_zero_info

from mtlkit.errors import ConfigError

LAST_CHECKPOINT = "last.ckpt"
INTERRUPTED = False  # set on Ctrl-C (KeyboardInterrupt) during fit: mtlkit-train then exits with 130


class LastCheckpoint(Checkpoint):
    """Keeps ``<dirpath>/last.ckpt`` at the latest training state, the file ``ckpt_path=last`` resumes from.

    It is written every ``every_n_train_steps`` optimizer steps (mid-epoch, if set), at the end of every training
    epoch, and when the process receives SIGTERM (SLURM pre-emption, ``kill``): the current step finishes, every
    process saves at that same step, and the run stops with :class:`SIGTERMException` (exit code 143).
    The checkpoint holds the model, optimizer, scheduler, loops, callbacks and the data module's position in the
    epoch (:mod:`mtlkit.data.sampling`), so a resumed run continues where this one stood.

    While training, this callback's SIGTERM handler replaces Lightning's, which runs a collective operation inside
    the signal handler and can break the process group under DDP; here the handler only takes note, and the
    processes agree on stopping at the end of a step (one all-reduce of a flag per step, with several processes).
    """

    def __init__(self, dirpath: str | Path, every_n_train_steps: int | None = None, on_sigterm: bool = True):
        super().__init__()
        if every_n_train_steps is not None and every_n_train_steps < 1:
            raise ConfigError(f"every_n_train_steps must be >= 1 or null, got {every_n_train_steps}")
        self.dirpath = Path(dirpath)
        self.every_n_train_steps = every_n_train_steps
        self.on_sigterm = on_sigterm
        self._saved_step: int | None = None
        self._sigterm = False

    @property
    def path(self) -> Path:
        return self.dirpath / LAST_CHECKPOINT

    @property
    def state_key(self) -> str:
        return f"{type(self).__name__}[dirpath={self.dirpath}]"

    def _save(self, trainer: pl.Trainer) -> bool:
        if trainer.fast_dev_run or trainer.sanity_checking or self._saved_step == trainer.global_step:
            return False
        trainer.save_checkpoint(self.path, weights_only=False)  # full state: resumable
        self._saved_step = trainer.global_step
        return True

    def _saved_on_sigterm(self, trainer: pl.Trainer) -> None:
        rank_zero_info(
            f"SIGTERM: saved {self.path} at step {trainer.global_step}; resume with "
            f"`mtlkit-train resume={self.dirpath.parent}`"
        )

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._sigterm = False
        if self.on_sigterm and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._note_sigterm)  # Lightning restores its own at teardown

    def _note_sigterm(self, signum: int, frame: Any) -> None:
        self._sigterm = True

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any, **kw: Any) -> None:
        stop = self._sigterm
        if trainer.world_size > 1 and self.on_sigterm:
            stop = trainer.strategy.reduce_boolean_decision(stop, all=False)  # any process was told to stop
        n = self.every_n_train_steps
        if stop or (n and trainer.global_step % n == 0):
            self._save(trainer)
        if stop:
            self._saved_on_sigterm(trainer)
            raise SIGTERMException

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._save(trainer)

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        # A SIGTERM that Lightning's handler caught (outside the training steps) stops every process at a step
        # boundary too. Other interruptions (Ctrl+C, a sys.exit from a signal handler) can land mid-step: the
        # last periodic checkpoint is the safe point to resume from then.
        stop = self.on_sigterm and isinstance(exception, SIGTERMException)
        if stop and trainer.state.fn == "fit" and self._save(trainer):
            self._saved_on_sigterm(trainer)
        if isinstance(exception, KeyboardInterrupt) and trainer.state.fn == "fit":
            global INTERRUPTED
            INTERRUPTED = True
            self._interrupted(trainer)

    def _interrupted(self, trainer: pl.Trainer) -> None:
        """Ctrl-C can land mid-step: no checkpoint is written now; the last one is where a resumed run starts."""
        run_dir = self.dirpath.parent
        if self.path.is_file():
            import torch

            try:
                step = torch.load(self.path, map_location="cpu", weights_only=True, mmap=True).get("global_step")
            except Exception:  # noqa: BLE001 - the hint is still worth giving
                step = "?"
            rank_zero_info(
                f"Ctrl-C: stopped at step {trainer.global_step}; {self.path} holds step {step}. Resume with "
                f"`mtlkit-train resume={run_dir}`"
            )
        else:
            rank_zero_info(
                f"Ctrl-C: stopped at step {trainer.global_step}, before the first checkpoint: nothing to resume"
            )
