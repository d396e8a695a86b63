"""The seed loss over a batch split across processes (DDP), so that N processes train exactly like one.

Under DDP each process holds a share of the global batch, and DDP *averages* the gradients of the N processes.
The seed loss of the global batch is ``S / D``: the sum of the logistic loss over all labelled entries of all
shares (``S = sum_r S_r``) over the global divisor ``D`` (all m examples, or all labelled entries with
``loss.normalization=labels``). Process r therefore backpropagates ``N * S_r / D``: the average of these over the
processes is ``S / D``, whatever the sizes of the shares and however the labels fall among them. Dividing by the
local m (or the local label count) instead is only right when every share has the same size (and, for ``labels``,
the same number of labels), which an uneven last batch or missing labels break.

One all-reduce of three numbers per step gives ``S``, ``D`` and the global m; the global loss ``S / D`` is what
gets logged, identical on every process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch


def is_distributed() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def world_size() -> int:
    """Number of processes whose gradients DDP averages (1 outside torch.distributed)."""
    return torch.distributed.get_world_size() if is_distributed() else 1


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """Sum of ``t`` over all processes (``t`` itself with one process); ``t`` is not modified."""
    if world_size() == 1:
        return t
    out = t.clone()
    torch.distributed.all_reduce(out, op=torch.distributed.ReduceOp.SUM)
    return out


@dataclass
class ShardLoss:
    """The loss of one process's share of a global batch."""

    backward: torch.Tensor  # what this process backpropagates: N * S_r / D (S_r / D_r with one process)
    value: torch.Tensor  # the loss of the global batch, S / D, the same on every process (detached)
    examples: torch.Tensor  # m of the global batch


def shard_loss(
    total: torch.Tensor,
    divisor: torch.Tensor,
    examples: int,
    reduce: Callable[[torch.Tensor], torch.Tensor] = all_reduce_sum,
    processes: int | None = None,
) -> ShardLoss:
    """The loss of a share, normalised by the global divisor (see the module docstring).

    Args:
        total: sum of the loss over this share's counted entries (differentiable); a scalar, or one sum per
            task (``[T]``) when each task has its own divisor (``approach=separate``).
        divisor: this share's divisor (its m, or its count of labelled entries), shaped like ``total``.
        examples: this share's m.
        reduce / processes: how to sum over processes and how many there are (defaults: torch.distributed).
    """
    processes = world_size() if processes is None else processes
    k = total.numel()
    stats = torch.cat(
        [
            total.detach().float().reshape(-1),
            divisor.float().reshape(-1).expand(k),
            torch.tensor([float(examples)], device=total.device),
        ]
    )
    reduced = reduce(stats)
    s, d, m = reduced[:k], reduced[k : 2 * k], reduced[2 * k]
    d = d.clamp(min=1.0)  # no labelled entry anywhere: the loss is 0, as with one process
    backward = (total.reshape(-1) / (d / processes)).sum()
    return ShardLoss(backward=backward, value=(s / d).sum(), examples=m)
