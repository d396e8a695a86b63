"""What each validation epoch logs: every task's metrics up to MAX_LOGGED_TASKS tasks; over it (ToxCast: 617 tasks,
2,468 values an epoch) only the macro and example-based values, the per-task ones staying in the module's results."""

from __future__ import annotations

from functools import partial

import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from mtlkit.evaluation.metrics import MAX_LOGGED_TASKS
from mtlkit.models.module import MultiTaskModule
from tests.helpers.tiny_backbone import Linear


def _loader(n_tasks: int):
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(32, 3, generator=g), (torch.rand(32, n_tasks, generator=g) < 0.5).float()
    mask = torch.rand(32, n_tasks, generator=g) < 0.8
    rows = [{"x": x[i], "y": y[i] * mask[i], "mask": mask[i]} for i in range(32)]
    return DataLoader(rows, batch_size=16)


@pytest.mark.parametrize("n_tasks", [3, MAX_LOGGED_TASKS + 1])
def test_per_task_values_are_logged_up_to_max_logged_tasks(n_tasks, tmp_path):
    torch.manual_seed(0)
    tasks = [f"t{j}" for j in range(n_tasks)]
    module = MultiTaskModule(Linear(), tasks, optimizer=partial(torch.optim.SGD, lr=0.1))
    module.task_gradient_monitor.log_every = 0
    trainer = pl.Trainer(
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        default_root_dir=tmp_path,
    )
    trainer.fit(module, _loader(n_tasks), _loader(n_tasks))
    logged = set(trainer.callback_metrics)
    assert {"val/auroc_macro", "val/lrap", "val/loss"} <= logged
    per_task = {k for k in logged if k.startswith("val/auroc/")}
    assert per_task == ({f"val/auroc/{t}" for t in tasks} if n_tasks <= MAX_LOGGED_TASKS else set())
    assert set(module.results["val"]["per_task"]) == set(tasks)
