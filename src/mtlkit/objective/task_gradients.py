"""Per-task gradients of the shared parameters, for gradient methods (:class:`~mtlkit.objective.weighting.base.
GradientWeighting`): the Jacobian of the global batch, exact under DDP, and writing a direction back as gradients.

One backward pass per task (``torch.autograd.grad`` of each share): measured faster on CPU than batched
vector-Jacobian products (``is_grads_batched=True``, i.e. ``vmap`` over the backward) and than TorchJD's Gramian
engine (``torchjd.autogram``), whose batching rules for convolution and batch-norm backward fall back to per-row
loops (docs/benchmarks.md, "Gradient methods: the Jacobian's cost"). The task-specific parameters (heads) get their
gradient from the same passes (:func:`task_gradients`), so a gradient step makes T passes, not T + 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from mtlkit.objective.sharding import all_reduce_sum, world_size


def task_gradients(
    shares: torch.Tensor,
    params: Sequence[torch.Tensor],
    rest: Sequence[torch.Tensor] = (),
    present: torch.Tensor | None = None,
    retain_graph: bool = True,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """``(jacobian [T, P], rest_grads)`` from one backward pass per task.

    Row j of the Jacobian is the gradient of task j's loss on the global batch w.r.t. ``params`` (flattened):
    ``shares`` are this process's per-task shares (:meth:`TaskLosses.shares`), and the rows are averaged over the
    processes (one all-reduce), as DDP averages the gradient of a sum, so that every process holds the Jacobian of
    the global batch before any non-linear aggregation. ``rest_grads`` are the gradients of ``sum_j shares_j``
    w.r.t. ``rest`` (this process's, not averaged: DDP averages them in its backward), accumulated over the same
    passes. A task that ``present`` marks absent (no labelled entry in the global batch) gets a zero row without a
    pass (its loss does not depend on the parameters). ``retain_graph``: keep the graph for a later backward.
    """
    params, rest = list(params), list(rest)
    sizes = [p.numel() for p in params]
    t = shares.numel()
    jacobian = shares.new_zeros(t, sum(sizes), dtype=params[0].dtype if params else shares.dtype)
    rest_grads = [torch.zeros_like(p) for p in rest]
    flags = [True] * t if present is None else [bool(x) for x in present.tolist()]
    todo = [j for j in range(t) if flags[j]]
    for k, j in enumerate(todo):
        keep = retain_graph or k < len(todo) - 1
        grads = torch.autograd.grad(shares[j], params + rest, retain_graph=keep, allow_unused=True)
        offset = 0
        for g, n in zip(grads[: len(params)], sizes):
            if g is not None:
                jacobian[j, offset : offset + n] = g.reshape(-1)
            offset += n
        for acc, g in zip(rest_grads, grads[len(params) :]):
            if g is not None:
                acc += g
    n = world_size()
    return (jacobian if n == 1 else all_reduce_sum(jacobian) / n), rest_grads


def task_jacobian(shares: torch.Tensor, params: Sequence[torch.Tensor]) -> torch.Tensor:
    """``[T, P]``: row j is the gradient of task j's loss on the global batch w.r.t. ``params`` (flattened),
    averaged over the processes (see :func:`task_gradients`). The graph is kept for a later backward."""
    return task_gradients(shares, params)[0]


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


def linear_surrogate(params: Sequence[torch.Tensor], grads: Sequence[torch.Tensor | None]) -> torch.Tensor:
    """``sum_i <grads_i, params_i>``: a scalar whose gradient w.r.t. ``params_i`` is ``grads_i`` (0 where None),
    with no graph beyond the parameters. Backpropagated through DDP it averages given gradients over the processes
    and fires DDP's hooks for every parameter, at the cost of an element-wise product."""
    total = None
    for p, g in zip(params, grads):
        term = (p * (torch.zeros_like(p) if g is None else g.detach())).sum()
        total = term if total is None else total + term
    if total is None:
        raise ValueError("no parameter to backpropagate into")
    return total
