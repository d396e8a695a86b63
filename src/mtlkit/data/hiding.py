"""Hide labels to simulate partial annotation: every hidden entry becomes "?" (mask False, y 0)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from mtlkit.errors import ConfigError

MODES = ("random", "annotator")
DEFAULT_KEY = "*"  # in the {task: rate} form: the rate of every task not named


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"missing_rate{where} must be a number in [0, 1], got {value!r}")
    return float(value)


def task_rates(rate: float | Sequence[float] | Mapping[str, float], tasks: Sequence[str]) -> torch.Tensor:
    """Per-task hiding rates from one rate, a list (one per task) or a ``{task: rate}`` dict.

    In the dict form, tasks not named get the rate of the key ``"*"``, or 0 without it:
    ``{"*": 0.99, "car": 0.9}`` hides 90% of the car labels and 99% of every other task's.
    """
    if isinstance(rate, Mapping):
        unknown = sorted(set(rate) - set(tasks) - {DEFAULT_KEY})
        if unknown:
            raise ConfigError(
                f"missing_rate names unknown task(s) {unknown}; known tasks: {list(tasks)} "
                f"(the key {DEFAULT_KEY!r} sets the rate of every task not named)"
            )
        default = _number(rate.get(DEFAULT_KEY, 0.0), f"[{DEFAULT_KEY!r}]")
        rates = torch.tensor([_number(rate[t], f"[{t!r}]") if t in rate else default for t in tasks])
    elif isinstance(rate, (int, float)):
        rates = torch.full((len(tasks),), float(rate))
    else:
        rates = torch.tensor([float(r) for r in rate])
        if rates.numel() != len(tasks):
            raise ConfigError(f"missing_rate lists {rates.numel()} rates for {len(tasks)} tasks {list(tasks)}")
    if ((rates < 0) | (rates > 1)).any():
        raise ConfigError(f"missing_rate values must lie in [0, 1], got {rates.tolist()}")
    return rates


def hide_labels(
    mask: torch.Tensor, rates: torch.Tensor, mode: str = "random", generator: torch.Generator | None = None
) -> torch.Tensor:
    """Return a copy of ``mask`` [N, T] with entries hidden.

    ``random``: each labelled entry of task j is hidden independently with probability ``rates[j]``.
    ``annotator``: each example is labelled for a random subset of tasks, like annotators who answer only
    some questions. With mean rate r, example i keeps ``k_i = 1 + Binomial(T - 1, q)`` tasks, where q makes
    the expected kept fraction ``1 - r`` (so every example keeps at least one label; a rate above
    ``1 - 1/T`` is not reachable in this mode and keeps exactly one).
    """
    if mode not in MODES:
        raise ConfigError(f"unknown missing_mode {mode!r}; choose one of {list(MODES)}")
    n, t = mask.shape
    if mode == "random":
        keep = torch.rand(n, t, generator=generator) >= rates.view(1, t)
        return mask & keep
    r = float(rates.mean())
    q = 0.0 if t == 1 else min(max(((1 - r) * t - 1) / (t - 1), 0.0), 1.0)
    k = 1 + torch.binomial(torch.full((n,), float(t - 1)), torch.full((n,), q), generator=generator).long()
    rank = torch.rand(n, t, generator=generator).argsort(dim=1).argsort(dim=1)  # random rank of each task
    return mask & (rank < k.view(n, 1))
