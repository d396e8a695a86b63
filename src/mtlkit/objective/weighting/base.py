"""The seam where multi-task methods plug in: a weighting turns the per-task losses into what is backpropagated.

Two kinds of method plug in here (CONTRIBUTING.md has a recipe for each):

- a **loss weighting** (:class:`Weighting`) maps the per-task losses of the global batch
  (:class:`~mtlkit.objective.task_losses.TaskLosses`) to one differentiable scalar, e.g. ``losses.combine(w)``.
  It is an ``nn.Module``: parameters it owns are trained (they join the optimizer in a group of their own, at
  ``lr_scale`` times the learning rate), and its parameters, buffers and ``get_extra_state()`` are saved in every
  checkpoint and restored on resume and by ``mtlkit-predict``.
- a **gradient method** (:class:`GradientWeighting`) needs the per-task gradients of the shared parameters: the
  module then optimises manually, hands it the Jacobian ``[T, P]`` of the global batch (exact under DDP: the
  processes' Jacobians are averaged before it is called) and trains the shared parameters on the direction it
  returns; the task-specific parameters (heads) get the gradient of ``losses.combine()``.

A loss weighting may also read ``losses.jacobian()`` (e.g. GradNorm's per-task gradient norms; set
``needs_shared_parameters``), ``losses.counts`` / ``losses.present`` (labelled entries per task in the global
batch), ``losses.step`` and ``losses.epoch``, and act after the optimizer step in :meth:`Weighting.after_step`.

Weights must be the same on every process: compute them from ``losses.values`` (global) or from parameters
(synchronised by DDP), never from this process's share alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from mtlkit.errors import ConfigError
from mtlkit.objective.task_losses import TaskLosses


class Weighting(nn.Module):
    """Base class of loss weightings: ``forward(losses) -> scalar`` to backpropagate.

    Args:
        tasks: the task names, in the order of the losses.
        log_every: every how many training steps the per-task gradient norms and cosines of the shared
            parameters and the task weights are measured and logged (None: once per epoch, 0: never).
    """

    uses_task_gradients = False  # a gradient method: the module optimises manually and calls aggregate()
    needs_shared_parameters = False  # uses losses.jacobian(): refused where no parameter is shared
    lr_scale = 1.0  # learning-rate multiplier of the weighting's own parameters (if it has any)

    def __init__(self, tasks: Sequence[str], log_every: int | None = None):
        super().__init__()
        self.tasks = list(tasks)
        if log_every is not None and log_every < 0:
            raise ConfigError(f"weighting.log_every must be >= 0 or null (once per epoch), got {log_every}")
        self.log_every = log_every

    def forward(self, losses: TaskLosses) -> torch.Tensor:
        raise NotImplementedError

    def weights(self) -> torch.Tensor | None:
        """The current task weights ``[T]`` (for logging), or None when the method has none."""
        return None

    def describe(self) -> str:
        """One line naming the method, printed when a fit starts."""
        kind = "a gradient method" if self.uses_task_gradients else "a loss weighting"
        return f"weighting: {type(self).__name__} ({kind})"

    def after_step(self, module: nn.Module, batch: dict[str, torch.Tensor], losses: TaskLosses) -> None:
        """Called after each optimizer step, before any callback sees the batch end (so a checkpoint saved then
        holds the state after this step), with the step's batch and losses (the last micro-batch's under gradient
        accumulation); e.g. to measure the losses again with the updated network, as FAMO does."""


JACOBIANS = ("parameters", "representation")  # weighting.jacobian: what a gradient method differentiates


class GradientWeighting(Weighting):
    """Base class of gradient methods: ``aggregate(jacobian, losses) -> direction`` for the shared parameters.

    ``jacobian[j]`` is the gradient of task j's loss on the global batch with respect to the shared parameters,
    flattened; the returned vector ``[P]`` is used as their gradient (before clipping and the optimizer step).

    Args:
        tasks / log_every: see :class:`Weighting`.
        jacobian: ``parameters`` (exact, the default) or ``representation``: the Jacobian w.r.t. the shared
            features (the backbone's output, ``[T, B*D]``) is aggregated instead and the direction backpropagated
            through the backbone once; an approximation (MGDA-UB; docs/loss.md).
    """

    uses_task_gradients = True
    needs_shared_parameters = True

    def __init__(self, tasks: Sequence[str], log_every: int | None = None, jacobian: str = "parameters"):
        super().__init__(tasks, log_every)
        if jacobian not in JACOBIANS:
            raise ConfigError(f"weighting.jacobian must be one of {list(JACOBIANS)}, got {jacobian!r}")
        self.jacobian = jacobian

    def describe(self) -> str:
        extra = ", on the shared features (an approximation)" if self.jacobian == "representation" else ""
        return super().describe() + extra

    def aggregate(self, jacobian: torch.Tensor, losses: TaskLosses) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, losses: TaskLosses) -> torch.Tensor:
        """What the task-specific parameters train on: the sum of the task losses."""
        return losses.combine()
