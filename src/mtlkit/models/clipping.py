"""Gradient clipping by norm per network, for modules that hold several independent networks (separate, grouped)."""

from __future__ import annotations

from collections.abc import Sequence

import torch


@torch.no_grad()
def clip_each_network(networks: Sequence[Sequence[torch.Tensor]], max_norm: float) -> None:
    """Scale each network's gradients (a list of gradient tensors or views) so that its own norm is at most
    ``max_norm``: a global norm would couple networks that share no parameter."""
    for grads in networks:
        grads = [g for g in grads if g is not None]
        if not grads:
            continue
        norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
        scale = (float(max_norm) / (norm + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(scale)
