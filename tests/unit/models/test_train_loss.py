"""The training loss is logged as before (train/loss_step at the steps the loggers write, train/loss_epoch the epoch's
mean weighted by examples: the values Lightning's per-step self.log gave), without a self.log call at the other
steps."""

from __future__ import annotations

import csv
from functools import partial

import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import CSVLogger
from torch.utils.data import DataLoader

from mtlkit.models.module import MultiTaskModule
from mtlkit.objective.weighting.ew import EqualWeighting
from tests.helpers.tiny_backbone import Linear

TASKS = ["a", "b"]


class Reference(MultiTaskModule):
    """Also logs the loss the former way, every step, on step and epoch (Lightning's own bookkeeping)."""

    def training_step(self, batch, batch_idx):
        out = super().training_step(batch, batch_idx)
        self.log("ref", self.last_train_loss, on_step=True, on_epoch=True, batch_size=len(batch["y"]))
        return out


def _loader() -> DataLoader:
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(50, 3, generator=g), (torch.rand(50, 2, generator=g) < 0.5).float()
    mask = torch.rand(50, 2, generator=g) < 0.8
    return DataLoader([{"x": x[i], "y": y[i] * mask[i], "mask": mask[i]} for i in range(50)], batch_size=16)


def _trainer(tmp_path, log_every_n_steps: int) -> pl.Trainer:
    return pl.Trainer(
        max_epochs=2,
        logger=CSVLogger(tmp_path),
        log_every_n_steps=log_every_n_steps,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
    )


def _module(cls=MultiTaskModule) -> MultiTaskModule:
    torch.manual_seed(0)
    return cls(Linear(), TASKS, optimizer=partial(torch.optim.SGD, lr=0.1), weighting=EqualWeighting(TASKS, 0))


def test_logged_loss_equals_lightnings_own_step_and_epoch_values(tmp_path):
    trainer = _trainer(tmp_path, log_every_n_steps=3)
    module = _module(Reference)
    trainer.fit(module, _loader())  # 4 batches an epoch, the last of 2 examples: the weights matter
    rows = list(csv.DictReader(next(tmp_path.rglob("metrics.csv")).open()))
    step = [(r["step"], r["train/loss_step"]) for r in rows if r.get("train/loss_step")]
    assert step == [(r["step"], r["ref_step"]) for r in rows if r.get("ref_step")]
    assert [r["step"] for r in rows if r.get("train/loss_step")] == ["2", "5"]  # steps 3 and 6 of 8
    epoch = [r["train/loss_epoch"] for r in rows if r.get("train/loss_epoch")]
    assert len(epoch) == 2 and epoch == [r["ref_epoch"] for r in rows if r.get("ref_epoch")]
    assert trainer.callback_metrics["train/loss"] == trainer.callback_metrics["ref_epoch"]


def test_no_log_call_at_the_steps_the_loggers_skip(tmp_path):
    module = _module()
    calls: list[str] = []
    log = module.log
    module.log = lambda name, *a, **k: (calls.append(name), log(name, *a, **k))  # type: ignore[method-assign]
    _trainer(tmp_path, log_every_n_steps=50).fit(module, _loader())
    assert calls == ["train/loss_epoch", "train/loss"] * 2  # once an epoch, none in the 8 steps
