"""Decision thresholds: ``eval.threshold`` is a fixed probability (0.5, the default) or ``val_f1``: per task, the
threshold that maximises F1 on the labelled validation entries, then applied to test and kept in the checkpoint
(``checkpoint["mtlkit"]["eval_threshold"]``) for ``mtlkit-predict``. A task with no labelled positive in the
validation split keeps 0.5 and is listed as a fallback (docs/metrics.md, "Decision thresholds")."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from mtlkit.errors import ConfigError

DEFAULT_THRESHOLD = 0.5
VAL_F1 = "val_f1"
CHECKPOINT_KEY = "eval_threshold"  # under checkpoint["mtlkit"]: {"rule", "values": {task: t}, "fallback": [...]}


def threshold_rule(value: Any) -> float | str:
    """``eval.threshold`` checked: a probability strictly between 0 and 1, or ``"val_f1"`` (a one-line error
    naming both otherwise)."""
    if value is None:
        return DEFAULT_THRESHOLD
    if isinstance(value, str) and value.strip() == VAL_F1:
        return VAL_F1
    try:
        number = float(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        number = None
    if number is None or not 0.0 < number < 1.0:
        raise ConfigError(
            f"eval.threshold={value!r}: give a probability between 0 and 1 (e.g. eval.threshold=0.5, the default) "
            f"or eval.threshold={VAL_F1} (per task, the F1-maximising threshold on the validation split)"
        )
    return number


def rule_of_config(config: Mapping[str, Any] | None) -> float | str:
    """The threshold rule of a run's (resolved) config: ``eval.threshold``, 0.5 when the config has none."""
    block = (config or {}).get("eval") or {}
    return threshold_rule(block.get("threshold", DEFAULT_THRESHOLD) if isinstance(block, Mapping) else None)


def best_f1_threshold(probs: torch.Tensor, targets: torch.Tensor) -> float | None:
    """The threshold ``t`` maximising F1 of the decisions ``probs > t`` (one task's labelled entries), or None when
    there is no positive. ``t`` lies half-way between the lowest score called positive and the next lower score (0
    below the lowest, or just below 0 when the lowest is 0); among equally good thresholds the one nearest 0.5 is
    taken."""
    probs, targets = probs.double().flatten(), targets.flatten().bool()
    n_pos = int(targets.sum())
    if n_pos == 0:
        return None
    scores, inverse = torch.unique(probs, sorted=True, return_inverse=True)
    scores, inverse = scores.flip(0), len(scores) - 1 - inverse  # descending
    pos = torch.zeros(len(scores), dtype=torch.float64).index_add_(0, inverse, targets.double())
    all_ = torch.zeros(len(scores), dtype=torch.float64).index_add_(0, inverse, torch.ones_like(probs))
    tp, called = pos.cumsum(0), all_.cumsum(0)  # calling the top k+1 distinct scores positive
    f1 = 2 * tp / (called + n_pos)
    below = torch.cat([scores[1:], scores.new_zeros(1)])
    candidates = (scores + below) / 2
    if scores[-1] <= 0:  # every example positive, a probability of 0 among them: just below 0
        candidates[-1] = math.nextafter(0.0, -1.0)
    best = f1.max()
    ties = candidates[f1 >= best - 1e-12]
    return float(ties[(ties - DEFAULT_THRESHOLD).abs().argmin()])


def choose_f1_thresholds(
    probs: torch.Tensor, targets: torch.Tensor, masks: torch.Tensor, tasks: Sequence[str]
) -> dict[str, Any]:
    """Per task, :func:`best_f1_threshold` on its labelled entries: ``{"rule": "val_f1", "values": {task: t},
    "fallback": [tasks without a labelled positive, which keep 0.5]}``."""
    values, fallback = {}, []
    for j, task in enumerate(tasks):
        m = masks[:, j].bool()
        t = best_f1_threshold(probs[m, j], targets[m, j])
        if t is None:
            fallback.append(task)
            t = DEFAULT_THRESHOLD
        values[task] = t
    return {"rule": VAL_F1, "values": values, "fallback": fallback}


def fixed_thresholds(value: float, tasks: Sequence[str]) -> dict[str, Any]:
    """The same threshold for every task: ``{"rule": value, "values": {task: value}, "fallback": []}``."""
    return {"rule": float(value), "values": {t: float(value) for t in tasks}, "fallback": []}


def checkpoint_thresholds(meta: Mapping[str, Any], override: float | None = None) -> dict[str, Any]:
    """The thresholds to decide with for the model of a checkpoint (its ``checkpoint["mtlkit"]``): ``override``
    for every task when given; else those the checkpoint stores (``eval_threshold``); else, for a checkpoint written
    before thresholds were stored, its config's fixed ``eval.threshold`` (0.5 by default)."""
    tasks = list(meta.get("tasks") or [])
    if override is not None:
        return fixed_thresholds(float(threshold_rule(override)), tasks)
    saved = meta.get(CHECKPOINT_KEY)
    if saved:
        values = saved.get("values") or {}
        missing = [t for t in tasks if t not in values]
        if missing:
            raise ConfigError(f"the checkpoint's thresholds lack tasks {missing}; pass --threshold 0.5 (or another)")
        return dict(saved)
    rule = rule_of_config(meta.get("config"))
    if rule == VAL_F1:
        raise ConfigError(
            "the run chose eval.threshold=val_f1, but this checkpoint was saved before any validation chose the "
            "thresholds: use the run's best checkpoint (give the run folder), or pass --threshold 0.5"
        )
    return fixed_thresholds(float(rule), tasks)
