"""A run's training budget, once its data are built: Lightning's logging interval fits the number of batches, and a
run too short to train says so in one line.

Called by :func:`mtlkit.run.train` for the run's data, and by ``approach=transfer`` for its pre-training source.
"""

from __future__ import annotations

import math
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from mtlkit.console import get_console
from mtlkit.data.base import MultiLabelDataModule

MIN_STEPS = 100  # fewer optimizer steps than this in a whole run get a warning
MIN_BATCH = 8  # the smallest batch size the warning suggests


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def batches_per_epoch(num_train: int, batch_size: int, trainer: DictConfig | dict) -> int:
    """Training batches per epoch and process, as mtlkit's sampler cuts them (``mtlkit.data.sampling``):
    global batches of ``batch_size x processes``, a last partial one kept; ``trainer.limit_train_batches`` applied."""
    world = _int(trainer.get("devices"), 1) * _int(trainer.get("num_nodes"), 1)
    full, rest = divmod(num_train, batch_size * max(world, 1))
    batches = full + (1 if rest >= world else 0)
    limit = trainer.get("limit_train_batches")
    if isinstance(limit, float) and 0 <= limit <= 1:
        batches = int(batches * limit)
    elif isinstance(limit, int) and not isinstance(limit, bool):
        batches = min(batches, limit)
    return batches


def steps_per_epoch(batches: int, trainer: DictConfig | dict) -> int:
    """Optimizer steps per epoch: one per ``trainer.accumulate_grad_batches`` batches, a last partial group too."""
    return math.ceil(batches / max(_int(trainer.get("accumulate_grad_batches"), 1), 1))


def optimizer_steps(batches: int, trainer: DictConfig | dict) -> int | None:
    """Optimizer steps of the whole fit (None when neither max_epochs nor max_steps bounds it)."""
    per_epoch = steps_per_epoch(batches, trainer)
    epochs = trainer.get("max_epochs")
    max_steps = _int(trainer.get("max_steps"), -1)
    steps = per_epoch * epochs if isinstance(epochs, int) and epochs >= 0 else None
    if max_steps >= 0:
        steps = max_steps if steps is None else min(steps, max_steps)
    return steps


def few_steps_warning(
    num_train: int,
    batch_size: int,
    trainer: DictConfig | dict,
    data_key: str = "data",
    epochs_key: str = "",
    what: str = "the whole run",
) -> str | None:
    """One line when the whole fit makes fewer than :data:`MIN_STEPS` optimizer steps, naming overrides that fix it."""
    batches = batches_per_epoch(num_train, batch_size, trainer)
    steps = optimizer_steps(batches, trainer)
    if steps is None or steps >= MIN_STEPS or batches == 0:
        return None
    epochs = trainer.get("max_epochs")
    epochs_key = epochs_key or "trainer.max_epochs"
    per_epoch = steps_per_epoch(batches, trainer)
    fixes = []
    if isinstance(epochs, int) and epochs > 0:
        fixes.append(f"{epochs_key}={math.ceil(MIN_STEPS / per_epoch)}")
    smaller = batch_size // 2
    while smaller >= 1 and optimizer_steps(batches_per_epoch(num_train, smaller, trainer), trainer) < MIN_STEPS:
        smaller //= 2
    if smaller >= MIN_BATCH:
        fixes.insert(0, f"{data_key}.batch_size={smaller}")
    how = f" (set {' or '.join(fixes)})" if fixes else ""
    return (
        f"warning: {steps} optimizer steps in {what} ({num_train} training examples, {data_key}.batch_size="
        f"{batch_size}: {per_epoch} per epoch, {epochs_key}={epochs}); fewer than ~{MIN_STEPS} rarely train a "
        f"network{how}"
    )


def fit_logging_interval(cfg: DictConfig, batches: int) -> None:
    """Lower ``trainer.log_every_n_steps`` to the number of batches per epoch where it is larger (Lightning warns
    then, and logs no training step at all)."""
    interval = cfg.trainer.get("log_every_n_steps")
    if batches >= 1 and (interval is None or interval > batches):
        with open_dict(cfg):
            cfg.trainer.log_every_n_steps = batches


def plan_run(
    cfg: DictConfig, dm: MultiLabelDataModule, data_key: str = "data", epochs_key: str = "", what: str = "the whole run"
) -> None:
    """After ``dm`` (``cfg.data``) is built: fit the logging interval, warn about a short run."""
    trainer = OmegaConf.to_container(cfg.trainer, resolve=True)
    if not isinstance(trainer, dict) or trainer.get("fast_dev_run"):
        return
    num_train, batch_size = dm.sizes()["train"], int(dm.batch_size)
    fit_logging_interval(cfg, batches_per_epoch(num_train, batch_size, trainer))
    warning = few_steps_warning(num_train, batch_size, trainer, data_key, epochs_key, what)
    if warning:
        get_console().print(warning, style="yellow", markup=False, highlight=False, soft_wrap=True)
