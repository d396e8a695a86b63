"""The weighting of ``approach=grouped``: one instance of the chosen method inside each group of tasks.

A group's network shares parameters only among its own tasks, so a method balances those tasks and no others:
group g's weighting sees the losses of its tasks (``losses.subset``) and, for a gradient method, the Jacobian of
its tasks with respect to its own network (the block of the full Jacobian where the others' rows are zero). What
is backpropagated is the sum of the groups' objectives; a gradient method's direction is the groups' directions
side by side. Equal weighting needs no wrapper (the sum over groups of each group's sum is the sum of all tasks).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from mtlkit.errors import ConfigError
from mtlkit.objective.task_losses import TaskLosses
from mtlkit.objective.weighting.base import Weighting


class _GroupView:
    """What a group's weighting sees of the module in ``after_step``: ``task_losses`` restricted to its tasks."""

    def __init__(self, module: nn.Module, index: list[int], group: int):
        self._module, self._index, self._group = module, index, group

    def task_losses(self, batch: dict[str, torch.Tensor]) -> TaskLosses:
        losses = self._module.task_losses(batch)
        params = losses.parameter_groups[self._group] if losses.parameter_groups else ()
        return losses.subset(self._index, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


class GroupedWeighting(Weighting):
    """``make(group_tasks)`` for each group of ``groups`` (lists of task names covering ``tasks``)."""

    def __init__(self, tasks: Sequence[str], groups: Sequence[Sequence[str]], make: Callable[[list[str]], Weighting]):
        inner = [make(list(group)) for group in groups]
        super().__init__(tasks, inner[0].log_every if inner else None)
        kinds = {type(w) for w in inner}
        if len(kinds) != 1:
            raise ConfigError(f"every group needs the same weighting method, got {sorted(k.__name__ for k in kinds)}")
        self.groups = [list(g) for g in groups]
        self.index = [[self.tasks.index(t) for t in g] for g in self.groups]
        self.inner = nn.ModuleList(inner)
        kind = kinds.pop()
        self.uses_task_gradients = kind.uses_task_gradients
        self.needs_shared_parameters = kind.needs_shared_parameters
        self.lr_scale = kind.lr_scale
        self.method = kind.__name__
        self.jacobian = getattr(inner[0], "jacobian", "parameters")  # the module refuses representation here

    def describe(self) -> str:
        inner = self.inner[0].describe() if len(self.inner) else super().describe()
        return f"{inner}, inside each of {len(self.groups)} groups"

    def _parts(self, losses: TaskLosses) -> list[TaskLosses]:
        params = list(losses.parameter_groups) or [()] * len(self.groups)
        return [losses.subset(idx, p) for idx, p in zip(self.index, params)]

    def forward(self, losses: TaskLosses) -> torch.Tensor:
        return torch.stack([w(part) for w, part in zip(self.inner, self._parts(losses))]).sum()

    def weights(self) -> torch.Tensor | None:
        """``[T]``: each task's weight within its group (None if the method has none)."""
        parts = [w.weights() for w in self.inner]
        if any(p is None for p in parts):
            return None
        out = torch.zeros(len(self.tasks), dtype=parts[0].dtype, device=parts[0].device)
        for idx, p in zip(self.index, parts):
            out[torch.tensor(idx, device=out.device)] = p.to(out.dtype)
        return out

    def aggregate(self, jacobian: torch.Tensor, losses: TaskLosses) -> torch.Tensor:
        """Each group's direction on its own network's columns (its block of the Jacobian)."""
        sizes = [sum(p.numel() for p in params) for params in losses.parameter_groups]
        if sum(sizes) != jacobian.shape[1]:
            raise ValueError(f"the Jacobian has {jacobian.shape[1]} columns for networks of {sizes} parameters")
        pieces, start = [], 0
        for w, idx, part, size in zip(self.inner, self.index, self._parts(losses), sizes):
            block = jacobian[torch.tensor(idx, device=jacobian.device)][:, start : start + size]
            pieces.append(w.aggregate(block, part) if size else block.new_zeros(0))
            start += size
        return torch.cat(pieces)

    def after_step(self, module: nn.Module, batch: dict[str, torch.Tensor], losses: TaskLosses) -> None:
        for g, (w, part) in enumerate(zip(self.inner, self._parts(losses))):
            w.after_step(_GroupView(module, self.index[g], g), batch, part)  # type: ignore[arg-type]
