"""What the built data (and the weighting on its tasks) make impossible to learn, checked right after the data are
built and before any training (config-only causes: :mod:`mtlkit.config_checks.learnability`).

- no labelled entry in train at all, or every task with a single class (or none) in train: refused;
- every task weighted 0 (``weighting=static`` with all-zero weights): refused;
- some tasks with a single class (or no label) in train while others have both: a warning naming them, and the run
  goes on. Their heads can only learn the class prior, so their metrics say nothing about the features; the other
  tasks still train as usual (a data set with one rare task should not stop a hundred others). Their val/test
  metrics are reported as measured, or as undefined where val/test have one class too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from omegaconf import DictConfig

from mtlkit.console import get_console
from mtlkit.errors import ConfigError, DataError

SHOWN = 6


def _names(tasks: Sequence[str]) -> str:
    more = f" and {len(tasks) - SHOWN} more" if len(tasks) > SHOWN else ""
    return ", ".join(tasks[:SHOWN]) + more


def single_class_tasks(train_counts: Mapping[str, Mapping[str, int]]) -> dict[str, str]:
    """``{task: "only positives" | "only negatives" | "no label"}`` for the tasks train cannot teach."""
    out = {}
    for task, c in train_counts.items():
        if c["pos"] and c["neg"]:
            continue
        out[task] = "no label" if not (c["pos"] or c["neg"]) else "only positives" if c["pos"] else "only negatives"
    return out


def data_learnability_warnings(cfg: DictConfig, tasks: Sequence[str], label_counts: Mapping[str, Any]) -> list[str]:
    """Raise (one line naming cause and fix) when the data and weighting leave nothing to learn; return the
    warnings for the tasks that cannot learn while others can."""
    train = label_counts["train"]
    labelled = sum(c["pos"] + c["neg"] for c in train.values())
    if labelled == 0:
        raise DataError(
            f"the training split has no labelled entry for any of the {len(tasks)} task(s), so nothing can be "
            "learnt: label some examples, or lower data.missing_rate"
        )
    stuck = single_class_tasks(train)
    if len(stuck) == len(train):
        kinds = sorted(set(stuck.values()))
        raise DataError(
            f"every task has a single class (or no label) in train ({', '.join(kinds)}), so no task can learn to "
            "tell its classes apart: give examples of both classes (check data.label_columns and the label cells)"
        )
    _refuse_all_zero_weights(cfg, tasks)
    if not stuck:
        return []
    by_kind: dict[str, list[str]] = {}
    for task, kind in stuck.items():
        by_kind.setdefault(kind, []).append(task)
    found = "; ".join(f"{kind}: {_names(names)}" for kind, names in by_kind.items())
    kept = [t for t in tasks if t not in stuck]
    return [
        f"{len(stuck)} task(s) cannot learn from train ({found}): their models learn only the class prior and "
        f"their metrics mean little; the other {len(kept)} train as usual. To leave them out: "
        f"data.tasks=[{','.join(kept[:SHOWN])}{',...' if len(kept) > SHOWN else ''}]"
    ]


def _refuse_all_zero_weights(cfg: DictConfig, tasks: Sequence[str]) -> None:
    from mtlkit.build.builders import build_weighting

    if not (cfg.get("weighting") or {}).get("_target_"):
        return
    weights = build_weighting(cfg, tasks).weights()
    if weights is not None and len(weights) and bool((weights == 0).all()):
        raise ConfigError(
            f"weighting.weights gives every task weight 0, so the loss is 0 and nothing is learnt: give at least one "
            f"task a weight > 0 (tasks not named weigh 1), e.g. weighting.weights={{{tasks[0]}: 1}}"
        )


def check_learnable_data(cfg: DictConfig, tasks: Sequence[str], label_counts: Mapping[str, Any]) -> list[str]:
    """:func:`data_learnability_warnings`, with each warning printed; returns them (results.json's ``warnings``)."""
    from lightning_fabric.utilities.rank_zero import _get_rank

    warnings = data_learnability_warnings(cfg, tasks, label_counts)
    for line in warnings if not _get_rank() else []:
        get_console().print(f"[yellow]warning: {line}", highlight=False, soft_wrap=True)
    return warnings
