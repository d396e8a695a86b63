"""``weighting.jacobian=representation``: the per-task gradients w.r.t. the shared features instead of the shared
parameters, an approximation of a gradient method at the cost of one backbone backward (MGDA-UB, Sener & Koltun,
NeurIPS 2018, "Multi-Task Learning as Multi-Objective Optimization", Section 3.3; LibMTL's ``rep_grad``).

The features ``z`` (the backbone's output, ``[B, D]`` on this process) feed every head; the Jacobian of the task
losses w.r.t. ``z`` is ``[T, B*D]`` and costs one batched backward through the heads only. Under DDP the processes'
blocks are gathered (in rank order) into the Jacobian of the global batch, so every process aggregates the same
matrix and takes its own columns of the direction: N processes train like one, up to the order of the columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from mtlkit.objective.sharding import world_size


def representation_gradients(
    shares: torch.Tensor, features: torch.Tensor, rest: Sequence[torch.Tensor] = ()
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """``(jacobian [T, B*D], rest_grads)``: the gradients of each share w.r.t. this process's ``features`` (one
    batched backward through the heads), and the gradients of ``sum_j shares_j`` w.r.t. ``rest`` (the heads'
    parameters; 0 where unused; one more backward through the heads). The graph is kept for the backbone's pass."""
    t = shares.numel()
    eye = torch.eye(t, device=shares.device, dtype=shares.dtype)
    (rows,) = torch.autograd.grad(shares, [features], grad_outputs=eye, is_grads_batched=True, retain_graph=True)
    rest = list(rest)
    grads = torch.autograd.grad(shares.sum(), rest, retain_graph=True, allow_unused=True) if rest else ()
    rest_grads = [torch.zeros_like(p) if g is None else g for g, p in zip(grads, rest)]
    return rows.reshape(t, -1), rest_grads


def gather_columns(local: torch.Tensor) -> tuple[torch.Tensor, slice]:
    """The Jacobian of the global batch from each process's block ``[T, C_r]`` of rows of its shares: the blocks
    side by side in rank order, divided by N (each process's shares carry the factor N, see
    :mod:`mtlkit.objective.sharding`), and the columns that are this process's."""
    n = world_size()
    if n == 1:
        return local, slice(0, local.shape[1])
    t, c = local.shape
    counts = torch.tensor([c], device=local.device)
    all_counts = [torch.zeros_like(counts) for _ in range(n)]
    torch.distributed.all_gather(all_counts, counts)
    sizes = [int(x.item()) for x in all_counts]
    padded = local.new_zeros(t, max(sizes))
    padded[:, :c] = local
    blocks = [torch.zeros_like(padded) for _ in range(n)]
    torch.distributed.all_gather(blocks, padded.contiguous())
    rank = torch.distributed.get_rank()
    start = sum(sizes[:rank])
    full = torch.cat([b[:, :s] for b, s in zip(blocks, sizes)], dim=1) / n
    return full, slice(start, start + c)
