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

        G_j = w_j * ||J_j||,   r_j = (l_j(t) / l_j(0)) / mean_k (l_k(t) / l_k(0)),
        L_grad = sum_j | G_j - mean_k(G_k) * r_j^alpha |   (the target mean(G) * r^alpha is a constant),

    and the module backpropagates ``sum_j w_j L_j`` with ``w`` detached, plus ``L_grad``, whose gradient reaches
    only ``w``. After each optimizer step ``w`` is renormalised to ``sum_j w_j = T``. Without shared parameters
    (``J`` has no column) ``L_grad`` is 0 and ``w`` is left as it is.

    Training rates under partial labels: ``l_j`` is task j's mean loss per labelled entry of the global batch
    (``S_j / n_j``), not ``L_j = S_j / m``, which scales with how many labels the task has in the batch (a first
    batch with 4 of 32 labels for one task gave rates [1.75, 0.25] instead of about [1, 1]). The paper's rate
    compares a task's loss with its loss at the start (L_i(t) / L_i(0)); the per-label mean keeps that comparison
    free of the label counts of either batch. ``l(0)`` is a buffer (``initial_losses``), taken at each task's first
    step with labels and checkpointed with ``w``: one batch, as the paper's L(0); its mean per label has no bias from
    the count, only noise (and at initialisation every label's loss is near log 2). ``l_j`` comes from the global
    sums and counts, so the rates are the same on every DDP process. Without counts ``l_j = L_j``.

    Missing labels: means run over the tasks labelled in the global batch (``losses.present``); a task without
    labels has no term in ``L_grad`` (``w_j`` gets no gradient in that step).
    """

    needs_shared_parameters = True

    def __init__(self, tasks: Sequence[str], alpha: float = 1.5, log_every: int | None = None):
        super().__init__(tasks, log_every)
        if not alpha >= 0:
            raise ConfigError(f"weighting.alpha must be >= 0, got {alpha}")
        self.alpha = float(alpha)
        t = len(self.tasks)
        self.task_weights = nn.Parameter(torch.ones(t))
        self.register_buffer("initial_losses", torch.zeros(t))  # l_j(0) per label, valid where has_initial
        self.register_buffer("has_initial", torch.zeros(t, dtype=torch.bool))

    def weights(self) -> torch.Tensor:
        return self.task_weights.detach().clone()

    def label_losses(self, losses: TaskLosses) -> torch.Tensor:
        """``[T]``: each task's mean loss per labelled entry of the global batch (``losses.values`` without counts)."""
        if losses.counts is None:
            return losses.values.to(self.task_weights.dtype)
        return (losses.global_sums / losses.counts.clamp(min=1)).to(self.task_weights.dtype)

    def inverse_training_rates(self, losses: TaskLosses) -> torch.Tensor:
        """``r [T]``: ``(l_j(t) / l_j(0)) / mean_k (l_k(t) / l_k(0))`` over the present tasks (0 for absent ones)."""
        present = losses.present
        ratio = torch.where(present, self.label_losses(losses) / self.initial_losses.clamp(min=_TINY), 0.0)
        return ratio / (ratio.sum() / present.sum().clamp(min=1)).clamp(min=_TINY)

    def forward(self, losses: TaskLosses) -> torch.Tensor:
        w = self.task_weights
        present = losses.present
        with torch.no_grad():
            first = present & ~self.has_initial
            self.initial_losses.copy_(torch.where(first, self.label_losses(losses), self.initial_losses))
            self.has_initial.logical_or_(present)
        n = present.sum().clamp(min=1)
        r = self.inverse_training_rates(losses)
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
