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
every process. :mod:`mtlkit.objective.task_losses` builds on these helpers.
"""

from __future__ import annotations

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
