"""The per-task losses of the global batch: what the weighting seam receives at every training step.

Task j's loss is ``S_j / D_j``: its summed logistic loss over the labelled entries of the global batch over its
divisor. With the seed formula every task shares one divisor D (m, or all labelled entries) and the seed loss is
``sum_j S_j / D``; with ``shared=False`` each task has its own (``approach=separate``). ``values`` and ``counts``
are the same on every process; ``shares()`` are what this process backpropagates, so that DDP's average of the
processes' gradients is the gradient of the global batch (:mod:`mtlkit.objective.sharding`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from mtlkit.objective.sharding import all_reduce_sum, world_size
from mtlkit.objective.task_gradients import task_gradients, task_jacobian


@dataclass
class TaskLosses:
    """The per-task losses of one training step, as the weighting sees them (see the module docstring).

    ``shared`` (the trainable parameters every task depends on), ``step`` and ``epoch`` are filled in by the
    LightningModule; ``jacobian()`` computes the per-task gradients of the shared parameters once per step.
    """

    sums: torch.Tensor  # [T] this process's sums over its labelled entries (differentiable)
    global_sums: torch.Tensor  # [T] the same summed over all processes (detached)
    divisors: torch.Tensor  # [T] global divisors, clamped to >= 1 (all equal when shared)
    shared: bool  # one divisor for all tasks (the seed formula)
    examples: torch.Tensor  # m of the global batch
    processes: int
    counts: torch.Tensor | None = None  # [T] labelled entries of each task in the global batch
    shared_parameters: Sequence[torch.Tensor] = ()
    parameter_groups: Sequence[Sequence[torch.Tensor]] = ()  # approach=grouped: each network's shared parameters
    step: int = 0
    epoch: int = 0
    features: torch.Tensor | None = None  # the shared features (backbone output) for weighting.jacobian=representation
    _jacobian: torch.Tensor | None = field(default=None, repr=False)

    @property
    def values(self) -> torch.Tensor:
        """Per-task losses of the global batch ``[T]`` (detached, identical on every process)."""
        return self.global_sums / self.divisors

    @property
    def present(self) -> torch.Tensor:
        """``[T]`` bool: the tasks with at least one labelled entry in the global batch (all, if not counted)."""
        if self.counts is None:
            return torch.ones_like(self.global_sums, dtype=torch.bool)
        return self.counts > 0

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

    def subset(self, index: Sequence[int], shared_parameters: Sequence[torch.Tensor] = ()) -> TaskLosses:
        """The losses of the tasks at ``index`` (one group of ``approach=grouped``, whose tasks share one divisor),
        with ``shared_parameters`` their network's: what a weighting of that group alone sees."""
        idx = torch.tensor(list(index), device=self.sums.device, dtype=torch.long)
        divisors = self.divisors[idx]
        return TaskLosses(
            sums=self.sums[idx],
            global_sums=self.global_sums[idx],
            divisors=divisors,
            shared=bool((divisors == divisors[0]).all()),
            examples=self.examples,
            processes=self.processes,
            counts=None if self.counts is None else self.counts[idx],
            shared_parameters=list(shared_parameters),
            step=self.step,
            epoch=self.epoch,
        )

    def task_gradients(self, rest: Sequence[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``(jacobian(), gradients of combine() w.r.t. rest)`` from the same T backward passes, which free the
        graph (a gradient method's step; see :func:`~mtlkit.objective.task_gradients.task_gradients`). The
        Jacobian is cached for :meth:`jacobian`; absent tasks get zero rows without a pass."""
        params = list(self.shared_parameters)
        jacobian, grads = task_gradients(self.shares(), params, rest, self.present, retain_graph=False)
        self._jacobian = jacobian
        return jacobian, grads

    def jacobian(self) -> torch.Tensor:
        """``[T, P]``: the gradients of the task losses on the global batch w.r.t. ``shared_parameters``,
        flattened (computed once per step, exact under DDP; see :func:`~mtlkit.objective.task_gradients.
        task_jacobian`). A task with no labelled entry has a zero row."""
        if self._jacobian is None:
            params = list(self.shared_parameters)
            if not params:
                self._jacobian = torch.zeros(len(self.sums), 0, device=self.sums.device)
            else:
                self._jacobian = task_jacobian(self.shares(), params)
        return self._jacobian


def task_losses(
    sums: torch.Tensor,
    divisor: torch.Tensor,
    examples: int,
    reduce: Callable[[torch.Tensor], torch.Tensor] = all_reduce_sum,
    processes: int | None = None,
    counts: torch.Tensor | None = None,
) -> TaskLosses:
    """The :class:`TaskLosses` of one process's share: one all-reduce of the sums, divisor(s), counts and m.

    Args:
        sums: this share's per-task sums of the loss over its counted entries ``[T]`` (differentiable).
        divisor: this share's divisor, a scalar shared by all tasks (the seed formula), or one per task ``[T]``.
        examples: this share's m.
        reduce / processes: how to sum over processes and how many there are (defaults: torch.distributed).
        counts: this share's labelled entries per task ``[T]`` (optional).
    """
    processes = world_size() if processes is None else processes
    t = sums.numel()
    shared = divisor.dim() == 0
    parts = [sums.detach().float().reshape(-1), divisor.float().reshape(-1)]
    parts += [] if counts is None else [counts.float().reshape(-1)]
    parts.append(torch.tensor([float(examples)], device=sums.device))
    reduced = reduce(torch.cat(parts))
    k = 1 if shared else t
    d = reduced[t : t + k].clamp(min=1.0).expand(t)  # no labelled entry anywhere: the loss is 0, as with one process
    return TaskLosses(
        sums=sums,
        global_sums=reduced[:t],
        divisors=d,
        shared=shared,
        examples=reduced[-1],
        processes=processes,
        counts=None if counts is None else reduced[t + k : t + k + t],
    )


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
    """The summed loss of a share, normalised by the global divisor (see :mod:`mtlkit.objective.sharding`).

    Args:
        total: sum of the loss over this share's counted entries (differentiable); a scalar, or one sum per
            task (``[T]``) when each task has its own divisor (``approach=separate``).
        divisor: this share's divisor (its m, or its count of labelled entries), shaped like ``total``.
        examples: this share's m.
        reduce / processes: how to sum over processes and how many there are (defaults: torch.distributed).
    """
    losses = task_losses(total.reshape(-1), divisor.reshape(total.shape), examples, reduce, processes)
    return ShardLoss(backward=losses.combine(), value=losses.value(), examples=losses.examples)
