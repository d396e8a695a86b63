"""Per-task gradients of the shared parameters, for gradient methods (:class:`~mtlkit.objective.weighting.base.
GradientWeighting`): the Jacobian of the global batch, exact under DDP, and writing a direction back as gradients."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from mtlkit.objective.sharding import all_reduce_sum, world_size


def task_jacobian(shares: torch.Tensor, params: Sequence[torch.Tensor]) -> torch.Tensor:
    """``[T, P]``: row j is the gradient of task j's loss on the global batch w.r.t. ``params`` (flattened).

    ``shares`` are this process's per-task shares (:meth:`TaskLosses.shares`); their gradients are averaged over
    the processes (one all-reduce), as DDP averages the gradient of a sum, so that every process holds the
    Jacobian of the global batch before any non-linear aggregation. The graph is kept for a later backward.
    """
    rows = []
    for j in range(shares.numel()):
        grads = torch.autograd.grad(shares[j], list(params), retain_graph=True, allow_unused=True)
        rows.append(torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1) for g, p in zip(grads, params)]))
    jacobian = torch.stack(rows)
    n = world_size()
    return jacobian if n == 1 else all_reduce_sum(jacobian) / n


def set_gradients(params: Sequence[torch.Tensor], direction: torch.Tensor) -> None:
    """Write the flat ``direction`` ``[P]`` into the ``.grad`` of ``params``, replacing what was there."""
    offset = 0
    for p in params:
        n = p.numel()
        g = direction[offset : offset + n].view_as(p).to(p.dtype)
        if p.grad is None:
            p.grad = g.clone()
        else:
            p.grad.copy_(g)
        offset += n
    if offset != direction.numel():
        raise ValueError(f"direction has {direction.numel()} entries for {offset} parameters")
