"""``weighting=famo``: Fast Adaptive Multitask Optimization (Liu, Feng, Stone and Liu, NeurIPS 2023)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from mtlkit.errors import ConfigError
from mtlkit.objective.task_losses import TaskLosses
from mtlkit.objective.weighting.base import Weighting

_TINY = 1e-30


class FAMO(Weighting):
    """Task logits ``xi`` (init 0), ``z = softmax(xi)``, trained so that all task losses decrease at the same rate.

    B. Liu, Y. Feng, P. Stone, Q. Liu, "FAMO: Fast Adaptive Multitask Optimization", NeurIPS 2023 (Algorithm 2 of
    the appendix; official code github.com/Cranial-XIX/FAMO). With ``D_j = L_j + eps`` (the loss lower bound
    ``b_j`` is 0 for the logistic loss):

    - the network trains on ``c * sum_j z_j log D_j``, ``c = 1 / sum_k (z_k / D_k)`` held constant, whose gradient
      is ``sum_j w_j grad L_j`` with ``w_j = (z_j / D_j) / sum_k (z_k / D_k)``: the module backpropagates
      ``losses.combine(w)`` with ``w`` detached (the same gradient; the weights sum to 1).
    - after the optimizer step (:meth:`after_step`) the global losses ``L'`` of the same batch are measured again
      with the updated network, ``delta_j = log D_j - log(L'_j + eps)``, and ``xi`` takes one Adam step
      (``lr = w_lr``, L2 weight decay ``gamma``, betas (0.9, 0.999)) on the gradient ``J_softmax(xi)^T delta``.

    Defaults: ``w_lr = 0.025`` (paper and official code) and ``gamma = 0.001`` (Algorithm 2; the official code's
    defaults differ: 0.01 in ``famo.py`` and the experiments' argument parser, 1e-5 in ``methods/weight_methods.py``;
    its run scripts use 0.01 for CelebA and 0.001 for QM9). ``eps = 1e-8`` as in the official code. The official
    code also clips the shared gradient to norm 1: here that is ``trainer.gradient_clip_val``, not this class.

    ``xi``, Adam's moments and step counts are buffers (checkpointed: a resumed run is exact). Measuring ``L'``
    runs the network in training mode, as the official code does, but BatchNorm's running statistics are put back
    afterwards, so that the extra forward pass does not count the batch twice.

    Missing labels: only tasks labelled in the global batch (``losses.present``) take part. Their weights are
    normalised among themselves (an absent task, with ``D_j = eps``, would otherwise take all the weight), and the
    update of ``xi`` uses the softmax over the present tasks; the logits, moments and step counts of absent tasks
    are left untouched (Adam's bias correction counts each task's own steps; with every task present this is
    exactly ``torch.optim.Adam``).
    """

    betas = (0.9, 0.999)
    adam_eps = 1e-8

    def __init__(
        self,
        tasks: Sequence[str],
        w_lr: float = 0.025,
        gamma: float = 0.001,
        eps: float = 1e-8,
        log_every: int | None = None,
    ):
        super().__init__(tasks, log_every)
        for key, value in (("w_lr", w_lr), ("gamma", gamma)):
            if not value >= 0:
                raise ConfigError(f"weighting.{key} must be >= 0, got {value}")
        if not eps > 0:
            raise ConfigError(f"weighting.eps must be > 0 (it keeps log(L + eps) finite), got {eps}")
        self.w_lr, self.gamma, self.eps = float(w_lr), float(gamma), float(eps)
        t = len(self.tasks)
        self.register_buffer("logits", torch.zeros(t))  # xi
        self.register_buffer("exp_avg", torch.zeros(t))  # Adam's first moment
        self.register_buffer("exp_avg_sq", torch.zeros(t))  # Adam's second moment
        self.register_buffer("adam_steps", torch.zeros(t, dtype=torch.long))  # Adam steps taken by each task
        self._last: torch.Tensor | None = None

    def weights(self) -> torch.Tensor:
        """The weights ``w`` of the last step (before any step: ``z = softmax(xi)``, what the official code
        reports)."""
        return self.softmax() if self._last is None else self._last

    def softmax(self) -> torch.Tensor:
        """``z = softmax(xi)``."""
        return torch.softmax(self.logits, dim=0)

    def task_weights(self, values: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        """``[T]``: ``w_j = (z_j / D_j) / sum_k (z_k / D_k)`` over the present tasks, 0 for the others."""
        u = torch.where(present, self.softmax() / (values.to(self.logits.dtype) + self.eps), 0.0)
        return u / u.sum().clamp(min=_TINY)

    def forward(self, losses: TaskLosses) -> torch.Tensor:
        w = self.task_weights(losses.values, losses.present)
        self._last = w
        return losses.combine(w)

    def logits_gradient(self, delta: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        """``J_softmax(xi)^T delta`` with the softmax over the present tasks (0 for absent ones)."""
        z = torch.softmax(self.logits.masked_fill(~present, float("-inf")), dim=0).nan_to_num(0.0)
        delta = torch.where(present, delta, 0.0)
        return torch.where(present, z * (delta - (z * delta).sum()), 0.0)

    @torch.no_grad()
    def after_step(self, module: nn.Module, batch: dict[str, torch.Tensor], losses: TaskLosses) -> None:
        present = losses.present
        if not bool(present.any()):
            return
        new = self._measure_again(module, batch)
        before = losses.values.to(self.logits.dtype)
        delta = torch.log(before + self.eps) - torch.log(new.to(self.logits.dtype) + self.eps)
        self._adam_step(self.logits_gradient(delta, present), present)

    def _measure_again(self, module: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        own = {id(b) for b in self.buffers()}
        saved = [(b, b.clone()) for b in module.buffers() if id(b) not in own]
        try:
            return module.task_losses(batch).values
        finally:
            for b, copy in saved:
                b.copy_(copy)

    def _adam_step(self, grad: torch.Tensor, present: torch.Tensor) -> None:
        """One step of Adam (torch.optim.Adam's update, L2 weight decay) on the logits of the present tasks."""
        beta1, beta2 = self.betas
        grad = grad + self.gamma * self.logits
        steps = self.adam_steps + present.long()
        exp_avg = torch.where(present, self.exp_avg.lerp(grad, 1 - beta1), self.exp_avg)
        exp_avg_sq = torch.where(present, beta2 * self.exp_avg_sq + (1 - beta2) * grad * grad, self.exp_avg_sq)
        t = steps.clamp(min=1).double()
        step_size = (self.w_lr / (1 - beta1**t)).to(self.logits.dtype)
        bias2_sqrt = (1 - beta2**t).sqrt().to(self.logits.dtype)
        update = step_size * exp_avg / (exp_avg_sq.sqrt() / bias2_sqrt + self.adam_eps)
        self.logits.copy_(torch.where(present, self.logits - update, self.logits))
        self.exp_avg.copy_(exp_avg)
        self.exp_avg_sq.copy_(exp_avg_sq)
        self.adam_steps.copy_(steps)
