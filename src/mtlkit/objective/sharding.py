"""The seed loss over a batch split across processes (DDP), so that N processes train exactly like one.

Under DDP each process holds a share of the global batch, and DDP *averages* the gradients of the N processes.
The seed loss of the global batch is ``S / D``: the sum of the logistic loss over all labelled entries of all
shares (``S = sum_r S_r``) over the global divisor ``D`` (all m examples, or all labelled entries with
``loss.normalization=labels``). Process r therefore backpropagates ``N * S_r / D``: the average of these over the
processes is ``S / D``, whatever the sizes of the shares and however the labels fall among them. Dividing by the
local m (or the local label count) instead is only right when every share has the same size (and, for ``labels``,
the same number of labels), which an uneven last batch or missing labels break.

The same holds task by task: task j's loss on the global batch is ``S_j / D_j`` and process r backpropagates
``N * S_j,r / D_j`` (:class:`TaskLosses`). One all-reduce of ``T + 2`` numbers per step (``2T + 1`` with a divisor
per task) gives the ``S_j``, the divisors and the global m; the global loss is what gets logged, identical on
every process.
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
    """The summed loss of a share, normalised by the global divisor (see the module docstring).

    Args:
        total: sum of the loss over this share's counted entries (differentiable); a scalar, or one sum per
            task (``[T]``) when each task has its own divisor (``approach=separate``).
        divisor: this share's divisor (its m, or its count of labelled entries), shaped like ``total``.
        examples: this share's m.
        reduce / processes: how to sum over processes and how many there are (defaults: torch.distributed).
    """
    losses = task_losses(total.reshape(-1), divisor.reshape(total.shape), examples, reduce, processes)
    return ShardLoss(backward=losses.combine(), value=losses.value(), examples=losses.examples)


@dataclass
class TaskLosses:
    """The per-task losses of the global batch, as the weighting seam sees them (one object per training step).

    Task j's loss is ``S_j / D_j``: its summed logistic loss over the labelled entries of the global batch over its
    divisor. With the seed formula every task shares one divisor (m, or all labelled entries), and the seed loss
    is ``sum_j S_j / D``; with ``shared=False`` each task has its own (``approach=separate``). ``values`` are the
    same on every process; ``shares()`` are what this process backpropagates so that DDP's average of the
    processes' gradients is the gradient of the global batch (see the module docstring).
    """

    sums: torch.Tensor  # [T] this process's sums over its labelled entries (differentiable)
    global_sums: torch.Tensor  # [T] the same summed over all processes (detached)
    divisors: torch.Tensor  # [T] global divisors, clamped to >= 1 (all equal when shared)
    shared: bool  # one divisor for all tasks (the seed formula)
    examples: torch.Tensor  # m of the global batch
    processes: int

    @property
    def values(self) -> torch.Tensor:
        """Per-task losses of the global batch ``[T]`` (detached, identical on every process)."""
        return self.global_sums / self.divisors

    def shares(self) -> torch.Tensor:
        """Per-task differentiable shares ``[T]``: their DDP average is each task's loss on the global batch."""
        return self.sums / (self.divisors / self.processes)

    def combine(self, weights: torch.Tensor | None = None) -> torch.Tensor:
        """``sum_j w_j * L_j`` (w = 1 when None) as this process backpropagates it.

        With a shared divisor the weighted sums are added first and divided once, in the order of the seed
        formula, so that equal weighting reproduces it bit for bit.
        """
        s = self.sums if weights is None else weights * self.sums
        if self.shared:
            return s.sum() / (self.divisors[0] / self.processes)
        return (s / (self.divisors / self.processes)).sum()

    def value(self, weights: torch.Tensor | None = None) -> torch.Tensor:
        """``sum_j w_j * L_j`` on the global batch (detached, identical on every process): what gets logged."""
        s = self.global_sums if weights is None else weights * self.global_sums
        if self.shared:
            return s.sum() / self.divisors[0]
        return (s / self.divisors).sum()


def task_losses(
    sums: torch.Tensor,
    divisor: torch.Tensor,
    examples: int,
    reduce: Callable[[torch.Tensor], torch.Tensor] = all_reduce_sum,
    processes: int | None = None,
) -> TaskLosses:
    """The :class:`TaskLosses` of one process's share: one all-reduce of ``T + 2`` (or ``2T + 1``) numbers.

    Args:
        sums: this share's per-task sums of the loss over its counted entries ``[T]`` (differentiable).
        divisor: this share's divisor, a scalar shared by all tasks (the seed formula), or one per task ``[T]``.
        examples: this share's m.
        reduce / processes: how to sum over processes and how many there are (defaults: torch.distributed).
    """
    processes = world_size() if processes is None else processes
    t = sums.numel()
    shared = divisor.dim() == 0
    stats = torch.cat(
        [
            sums.detach().float().reshape(-1),
            divisor.float().reshape(-1),
            torch.tensor([float(examples)], device=sums.device),
        ]
    )
    reduced = reduce(stats)
    k = 1 if shared else t
    d = reduced[t : t + k].clamp(min=1.0).expand(t)  # no labelled entry anywhere: the loss is 0, as with one process
    return TaskLosses(
        sums=sums,
        global_sums=reduced[:t],
        divisors=d,
        shared=shared,
        examples=reduced[t + k],
        processes=processes,
    )
