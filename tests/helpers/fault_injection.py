"""Test-only callback that interrupts a run for real: it sends a signal to its own process at a given step.

Added from the command line: ``+callbacks.fault._target_=tests.helpers.fault_injection.SignalAtStep
+callbacks.fault.step=11 +callbacks.fault.signal=SIGKILL``. It fires only in a fresh run (not in one resumed
from a checkpoint), so that ``resume=RUN_DIR``, which reuses the run's overrides, is not interrupted again.
"""

from __future__ import annotations

import os
import signal as signals

import pytorch_lightning as pl


class SignalAtStep(pl.Callback):
    """Send ``signal`` to the process of rank 0 (the command that was started: ``kill PID``) when ``step``
    optimizer steps are done, before the next one starts."""

    def __init__(self, step: int, signal: str = "SIGKILL"):
        self.step, self.signal = step, getattr(signals, signal)

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch, batch_idx) -> None:
        if trainer.ckpt_path is None and trainer.global_step == self.step and trainer.global_rank == 0:
            if self.signal == signals.SIGINT and signals.getsignal(signals.SIGINT) == signals.SIG_IGN:
                # started in the background (nohup, `cmd &`), the process inherits an ignored SIGINT, which a
                # user's Ctrl-C never meets: restore Python's handler so that the signal acts as Ctrl-C does
                signals.signal(signals.SIGINT, signals.default_int_handler)
            os.kill(os.getpid(), self.signal)


class RaiseAtStep(pl.Callback):
    """Raise ``RuntimeError`` when ``step`` optimizer steps are done: a job that crashes mid-training."""

    def __init__(self, step: int):
        self.step = step

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch, batch_idx) -> None:
        if trainer.global_step == self.step:
            raise RuntimeError(f"injected failure at step {self.step}")


class DiskFullAfter:
    """A stand-in for ``torch.save`` that saves the first ``calls`` checkpoints (dicts with a ``state_dict``; other
    objects are always saved), then writes half of the bytes and raises ``OSError(ENOSPC)``, as a disk that fills up
    during a checkpoint: ``monkeypatch.setattr(torch, "save", DiskFullAfter(1))``."""

    def __init__(self, calls: int):
        import torch

        self.calls, self.save = calls, torch.save

    def __call__(self, obj, f, *args, **kwargs) -> None:
        import errno
        import io

        if not (isinstance(obj, dict) and "state_dict" in obj) or self.calls > 0:
            self.calls -= isinstance(obj, dict) and "state_dict" in obj
            self.save(obj, f, *args, **kwargs)
            return
        buffer = io.BytesIO()
        self.save(obj, buffer, *args, **kwargs)
        data = buffer.getvalue()[: len(buffer.getvalue()) // 2]
        if hasattr(f, "write"):
            f.write(data)
        else:
            with open(f, "wb") as out:
                out.write(data)
        raise OSError(errno.ENOSPC, "No space left on device")
