"""Configurations under which nothing can be learnt, refused before any work (one line each, naming the fix).

From the config alone (:func:`learnability_errors`, part of :func:`mtlkit.config_checks.check_config`):

- ``data.missing_rate`` hides every training label (1.0 for every task, ``missing_mode=random``);
- an endless run (``trainer.max_epochs=-1`` and no ``trainer.max_steps``) with a learning-rate schedule, which
  spans the run's length and so cannot be laid out (the one-cycle scheduler crashed with ``OverflowError``).

What needs the built data (no label in train, a task with a single class in train, every task weighted 0) is
checked right after the data are built, before training: :mod:`mtlkit.build.learnable_data`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from omegaconf import DictConfig, OmegaConf

_ALL_TASKS = "*"


def _select(cfg: DictConfig, key: str, default: Any = None) -> Any:
    try:
        value = OmegaConf.select(cfg, key, default=default)
    except Exception:  # an interpolation that only resolves inside a run
        return default
    return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value


def _hides_everything(rate: Any) -> bool:
    """Whether the ``missing_rate`` value hides every task's labels (1.0 for each; the dict form's tasks not named
    take the ``"*"`` rate, so it needs ``"*": 1`` too)."""
    if isinstance(rate, bool):
        return False
    if isinstance(rate, (int, float)):
        return rate >= 1
    if isinstance(rate, Mapping):
        return _hides_everything(rate.get(_ALL_TASKS, 0)) and all(_hides_everything(r) for r in rate.values())
    if isinstance(rate, Sequence) and not isinstance(rate, str):
        return bool(rate) and all(_hides_everything(r) for r in rate)
    return False


def missing_rate_error(cfg: DictConfig) -> str | None:
    """One line when ``data.missing_rate`` leaves no label to train on."""
    rate = _select(cfg, "data.missing_rate")
    hidden_in = _select(cfg, "data.hide_splits", ["train"]) or []
    if _select(cfg, "data.missing_mode", "random") != "random" or "train" not in hidden_in:
        return None
    if not _hides_everything(rate):
        return None
    shown = rate if isinstance(rate, (int, float)) else "1.0 for every task"
    return (
        f"data.missing_rate={shown} hides every training label, so nothing can be learnt: give a rate below 1 "
        "(e.g. data.missing_rate=0.5)"
    )


def endless_schedule_error(cfg: DictConfig) -> str | None:
    """One line for ``trainer.max_epochs=-1`` without ``trainer.max_steps`` under a learning-rate schedule."""
    if _select(cfg, "trainer.max_epochs") != -1 or _select(cfg, "trainer.max_steps", -1) not in (-1, None):
        return None
    scheduler = _select(cfg, "scheduler")
    if not scheduler:
        return None
    name = str(scheduler.get("_target_", "")).rsplit(".", 1)[-1] if isinstance(scheduler, Mapping) else scheduler
    return (
        f"trainer.max_epochs=-1 trains without end, but the learning-rate schedule ({name}) spans the run's length: "
        "give a length (trainer.max_epochs=N or trainer.max_steps=N), or keep the rate constant with scheduler=none"
    )


def learnability_errors(cfg: DictConfig) -> list[str]:
    """One line per reason, decidable from ``cfg`` alone, why the run could not learn."""
    return [line for line in (missing_rate_error(cfg), endless_schedule_error(cfg)) if line]
