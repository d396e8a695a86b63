"""``weighting=gradnorm``: GradNorm (Chen, Badrinarayanan, Lee and Rabinovich, ICML 2018)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from mtlkit.errors import ConfigError
from mtlkit.objective.task_losses import TaskLosses
from mtlkit.objective.weighting.base import Weighting

_TINY = 1e-12


class GradNorm(Weighting):
    """Learned weights ``w`` (init 1) that equalise the training rates of the tasks' gradient norms.

    Z. Chen, V. Badrinarayanan, C.-Y. Lee, A. Rabinovich, "GradNorm: Gradient Normalization for Adaptive Loss
    Balancing in Deep Multitask Networks", ICML 2018. At every step, with ``J = losses.jacobian()`` (the task
    gradients of ALL shared parameters, not only the last shared layer):

        G_j = w_j * ||J_j||,   r_j = (L_j(t) / L_j(0)) / mean_k (L_k(t) / L_k(0)),
        L_grad = sum_j | G_j - mean_k(G_k) * r_j^alpha |   (the target mean(G) * r^alpha is a constant),

    and the module backpropagates ``sum_j w_j L_j`` with ``w`` detached, plus ``L_grad``, whose gradient reaches
    only ``w``. After each optimizer step ``w`` is renormalised to ``sum_j w_j = T``. ``L(0)`` is a buffer (the
    global losses of the first step), checkpointed with ``w``. Without shared parameters (``J`` has no column)
    ``L_grad`` is 0 and ``w`` is left as it is.

    Missing labels: means run over the tasks labelled in the global batch (``losses.present``); a task without
    labels has no term in ``L_grad`` (``w_j`` gets no gradient in that step) and takes its ``L_j(0)`` at its first
    step with labels.
    """

    needs_shared_parameters = True

    def __init__(self, tasks: Sequence[str], alpha: float = 1.5, log_every: int | None = None):
        super().__init__(tasks, log_every)
        if not alpha >= 0:
            raise ConfigError(f"weighting.alpha must be >= 0, got {alpha}")
        self.alpha = float(alpha)
        t = len(self.tasks)
        self.task_weights = nn.Parameter(torch.ones(t))
        self.register_buffer("initial_losses", torch.zeros(t))  # L_j(0), valid where has_initial
        self.register_buffer("has_initial", torch.zeros(t, dtype=torch.bool))

    def weights(self) -> torch.Tensor:
        return self.task_weights.detach().clone()

    def forward(self, losses: TaskLosses) -> torch.Tensor:
        w = self.task_weights
        present = losses.present
        values = losses.values.to(w.dtype)
        with torch.no_grad():
            first = present & ~self.has_initial
            self.initial_losses.copy_(torch.where(first, values, self.initial_losses))
            self.has_initial.logical_or_(present)
        n = present.sum().clamp(min=1)
        ratio = torch.where(present, values / self.initial_losses.clamp(min=_TINY), 0.0)
        r = ratio / (ratio.sum() / n).clamp(min=_TINY)  # inverse training rates (0 for absent tasks)
        norms = losses.jacobian().norm(dim=1).to(w.dtype)  # [T], no graph: only w carries a gradient
        g = w * norms
        target = (torch.where(present, g, 0.0).sum() / n * r**self.alpha).detach()
        grad_loss = torch.where(present, (g - target).abs(), 0.0).sum()
        return losses.combine(w.detach()) + grad_loss

    @torch.no_grad()
    def after_step(self, module: nn.Module, batch: dict[str, torch.Tensor], losses: TaskLosses) -> None:
        """``w <- T * w / sum(w)`` (skipped where nothing is shared or the sum is not positive)."""
        if losses.jacobian().shape[1] == 0:
            return
        total = self.task_weights.sum()
        if torch.isfinite(total) and total > 0:
            self.task_weights.mul_(len(self.tasks) / total)
