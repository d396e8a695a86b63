"""A run's budget: optimizer steps counted as mtlkit's sampler cuts batches, a one-line warning for a short run whose
suggested overrides really give enough steps, Lightning's logging interval fitted to the batches."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from omegaconf import OmegaConf

from mtlkit.data.sampling import EpochOrder, ShardedBatchSampler
from mtlkit.runtime.budget import (
    MIN_STEPS,
    batches_per_epoch,
    few_steps_warning,
    fit_logging_interval,
    optimizer_steps,
    plan_run,
)
from tests.helpers import compose_config


@given(n=st.integers(1, 3000), batch=st.integers(1, 300), world=st.integers(1, 4))
def test_batches_per_epoch_is_what_the_sampler_serves(n, batch, world):
    if n < world:
        return
    sampler = ShardedBatchSampler(EpochOrder(n, False, 0), batch, 0, world)
    assert batches_per_epoch(n, batch, {"devices": world, "num_nodes": 1}) == len(sampler)


def test_steps_follow_epochs_accumulation_limits_and_max_steps():
    assert optimizer_steps(10, {"max_epochs": 3}) == 30
    assert optimizer_steps(10, {"max_epochs": 3, "accumulate_grad_batches": 4}) == 9  # 3 steps per epoch
    assert optimizer_steps(10, {"max_epochs": 3, "max_steps": 7}) == 7
    assert optimizer_steps(10, {"max_epochs": -1, "max_steps": -1}) is None
    assert batches_per_epoch(1000, 100, {"limit_train_batches": 0.5}) == 5
    assert batches_per_epoch(1000, 100, {"limit_train_batches": 3}) == 3


def test_the_issue_case_warns_in_one_line_with_working_overrides():
    msg = few_steps_warning(100, 128, {"max_epochs": 8})
    assert msg is not None and "\n" not in msg
    assert msg.startswith("warning: 8 optimizer steps in the whole run (100 training examples, data.batch_size=128")
    assert "(set data.batch_size=8 or trainer.max_epochs=100)" in msg
    assert few_steps_warning(20000, 128, {"max_epochs": 8}) is None
    pre = few_steps_warning(500, 64, {"max_epochs": 1}, "source", "transfer.pretrain.max_epochs", "pre-training")
    assert "in pre-training" in pre and "source.batch_size=" in pre and "transfer.pretrain.max_epochs=13" in pre


@given(n=st.integers(1, 5000), batch=st.integers(1, 512), epochs=st.integers(1, 50))
def test_every_suggested_override_gives_enough_steps(n, batch, epochs):
    trainer = {"max_epochs": epochs}
    msg = few_steps_warning(n, batch, trainer)
    steps = optimizer_steps(batches_per_epoch(n, batch, trainer), trainer)
    assert (msg is None) == (steps >= MIN_STEPS)
    if msg is None or "(set " not in msg:
        return
    for fix in msg.split("(set ")[1].rstrip(")").split(" or "):
        key, value = fix.split("=")
        b, e = (int(value), epochs) if key == "data.batch_size" else (batch, int(value))
        assert optimizer_steps(batches_per_epoch(n, b, {"max_epochs": e}), {"max_epochs": e}) >= MIN_STEPS, fix


def test_the_logging_interval_is_lowered_to_the_batches_never_raised():
    cfg = OmegaConf.create({"trainer": {"log_every_n_steps": 20}})
    fit_logging_interval(cfg, 4)
    assert cfg.trainer.log_every_n_steps == 4
    fit_logging_interval(cfg, 400)
    assert cfg.trainer.log_every_n_steps == 4


def test_plan_run_fits_the_interval_and_warns(tmp_path, capsys):
    from mtlkit.build import build_datamodule

    cfg = compose_config(["data=noise", "data.num_train=100", "data.num_val=8", "data.num_test=8"], tmp_path)
    dm = build_datamodule(cfg.data)
    plan_run(cfg, dm)
    out = capsys.readouterr().out
    assert cfg.trainer.log_every_n_steps == 1
    assert "warning: 8 optimizer steps in the whole run" in out and "data.batch_size=8" in out
    cfg = compose_config(["data=noise", "data.num_train=100", "trainer.fast_dev_run=true"], tmp_path)
    plan_run(cfg, dm)
    assert "warning" not in capsys.readouterr().out


@pytest.mark.parametrize(("interval", "fitted", "warned"), [(1, True, False), (3, True, False), (3, False, True)])
def test_lightning_warns_about_the_interval_only_unless_fitted(tmp_path, recwarn, interval, fitted, warned):
    import pytorch_lightning as pl
    import torch
    from pytorch_lightning.loggers import CSVLogger
    from torch.utils.data import DataLoader, TensorDataset

    class Tiny(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(2, 1)

        def training_step(self, batch, _):
            return self.lin(batch[0]).pow(2).mean()

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    loader = DataLoader(TensorDataset(torch.randn(3 * interval, 2)), batch_size=3)  # `interval` batches
    cfg = OmegaConf.create({"trainer": {"log_every_n_steps": 20}})
    if fitted:
        fit_logging_interval(cfg, interval)
    trainer = pl.Trainer(
        max_epochs=1,
        log_every_n_steps=cfg.trainer.log_every_n_steps,
        logger=CSVLogger(tmp_path),  # Lightning only warns when something logs
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(Tiny(), loader)
    assert bool([w for w in recwarn if "logging interval" in str(w.message)]) == warned
