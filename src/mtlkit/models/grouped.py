"""``approach=grouped``: one shared network per group of tasks, the groups trained side by side on the same batches.

Group g's network is backbone ``networks[g]`` plus the heads of its tasks. No parameter is shared between groups,
each group's loss has the divisor its own shared network would have (:class:`~mtlkit.objective.masked_task_loss.
MaskedTaskLoss` with ``groups``), a weighting acts inside each group (:class:`~mtlkit.objective.weighting.grouped.
GroupedWeighting`) and gradient clipping by norm is per group, so training the groups together equals training
each group's network alone on the same batches. ``approach=separate`` is the grouping into singletons and
``approach=multitask`` the grouping into one; with the groups in task order and the same seed, this module
computes exactly what those do (the networks are built in group order, as they build theirs).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from mtlkit.errors import CheckpointError, ConfigError
from mtlkit.models.clipping import clip_each_network
from mtlkit.models.module import MultiTaskModule
from mtlkit.models.separate import network_state
from mtlkit.objective.masked_task_loss import MaskedTaskLoss
from mtlkit.objective.task_losses import TaskLosses


def check_groups(groups: Any, tasks: Sequence[str]) -> list[list[str]]:
    """``groups`` as lists of task names if every task is in exactly one non-empty group; else a one-line error
    naming the unknown, repeated or missing task."""
    example = "e.g. approach.groups=[[car,stop_sign],[pedestrian]]"
    if isinstance(groups, str) or not isinstance(groups, Sequence) or not groups:
        raise ConfigError(f"approach.groups must be a list of lists of task names ({example}), got {groups!r}")
    out: list[list[str]] = []
    seen: dict[str, int] = {}
    for g, group in enumerate(groups):
        if isinstance(group, str) or not isinstance(group, Sequence) or not group:
            raise ConfigError(f"approach.groups[{g}] must be a non-empty list of task names ({example}), got {group!r}")
        for task in group:
            task = str(task)
            if task not in tasks:
                raise ConfigError(f"approach.groups names unknown task {task!r}; the tasks are {list(tasks)}")
            if task in seen:
                raise ConfigError(
                    f"task {task!r} is in approach.groups twice (groups {seen[task]} and {g}): each task in one group"
                )
            seen[task] = g
        out.append([str(t) for t in group])
    missing = [t for t in tasks if t not in seen]
    if missing:
        raise ConfigError(
            f"task(s) {missing} are in no group of approach.groups: add them to a group, or as their own [{missing[0]}]"
        )
    return out


class GroupedBackbones(nn.Module):
    """One backbone per group; ``forward(x)`` gives per-task features ``[B, T, F]`` (each task its group's), or
    the shared features ``[B, F]`` when there is one group."""

    def __init__(self, networks: Sequence[nn.Module], tasks: Sequence[str], groups: Sequence[Sequence[str]]):
        super().__init__()
        groups = check_groups(groups, tasks)
        if len(networks) != len(groups):
            raise ConfigError(f"need one network per group, got {len(networks)} networks for {len(groups)} groups")
        widths = {int(n.feature_dim) for n in networks}
        if len(widths) != 1:
            raise ConfigError(f"grouped networks must share one feature width, got {sorted(widths)}")
        self.networks = nn.ModuleList(networks)
        self.tasks = list(tasks)
        self.groups = groups
        self.feature_dim = widths.pop()
        group_of = {t: g for g, group in enumerate(groups) for t in group}
        self.register_buffer("task_network", torch.tensor([group_of[t] for t in self.tasks]), persistent=False)

    @classmethod
    def build(
        cls, factory: Callable[[], nn.Module], tasks: Sequence[str], groups: Sequence[Sequence[str]]
    ) -> GroupedBackbones:
        """One freshly initialised backbone per group from ``factory``, in group order."""
        groups = check_groups(groups, tasks)
        return cls([factory() for _ in groups], tasks, groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if len(self.networks) == 1:
            return self.networks[0](x)
        return torch.stack([net(x) for net in self.networks], dim=1).index_select(1, self.task_network)

    def group_of(self, task: str) -> int:
        """The index of the group (network) that ``task`` belongs to."""
        for g, group in enumerate(self.groups):
            if task in group:
                return g
        raise ConfigError(f"no network for task {task!r}; the groups are {self.groups}")


class GroupedModule(MultiTaskModule):
    """One shared network per group of tasks in one LightningModule (see the module docstring).

    Takes the arguments of :class:`MultiTaskModule` plus ``groups``; ``backbone`` must be a
    :class:`GroupedBackbones` for those groups.
    """

    architecture = "grouped"  # keys backbone.networks.<g>.*; the checkpoint stores the groups

    @staticmethod
    def make_backbone(factory: Callable[[], nn.Module], tasks: Sequence[str], groups: Any = None) -> GroupedBackbones:
        """One freshly initialised backbone per group of ``groups`` from ``factory``."""
        return GroupedBackbones.build(factory, tasks, groups)

    @classmethod
    def transferable_backbone(
        cls, state_dict: Mapping[str, torch.Tensor], meta: Mapping[str, Any], task: str | None, file: object
    ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """The network of the group of ``task`` (``transfer.task``, required: there is one network per group)."""
        tasks = list(meta.get("tasks") or [])
        groups = [list(g) for g in meta.get("groups") or []]
        if task is None or task not in tasks:
            raise CheckpointError(
                f"{file} holds {len(groups)} grouped networks {groups}; choose whose network to transfer with "
                f"transfer.task=<one of {tasks}> (the network of that task's group)"
            )
        index = next(g for g, members in enumerate(groups) if task in members)
        return network_state(state_dict, index), {"task": task, "group": groups[index]}

    def __init__(self, backbone: GroupedBackbones, tasks: Sequence[str], groups: Sequence[Sequence[str]], **kwargs):
        if not isinstance(backbone, GroupedBackbones):
            raise ConfigError(f"GroupedModule needs GroupedBackbones, got {type(backbone).__name__}")
        groups = check_groups(groups, tasks)
        if groups != backbone.groups or list(tasks) != backbone.tasks:
            raise ConfigError(f"networks are for groups {backbone.groups}, the module for {groups}")
        super().__init__(backbone=backbone, tasks=tasks, **kwargs)
        self.groups = groups
        self.meta["groups"] = groups
        if len(groups) > 1:  # one group: the seed formula's single divisor, as approach=multitask
            index = tuple(int(g) for g in backbone.task_network.tolist())
            self.objective = MaskedTaskLoss(self.loss_normalization, self.loss_unknown, groups=index)

    def heads_parameters_of(self, group: Sequence[str]) -> int:
        """How many head parameters the tasks of ``group`` have."""
        per_task = sum(p[0].numel() for p in self.heads.parameters())
        return per_task * len(group)

    def group_parameters(self) -> list[list[nn.Parameter]]:
        """Each group's trainable backbone parameters, in group order."""
        return [[p for p in net.parameters() if p.requires_grad] for net in self.backbone.networks]

    def shared_parameters(self) -> list[nn.Parameter]:
        """Every group's shared parameters, group after group (a task's gradient is zero outside its group)."""
        return [p for params in self.group_parameters() for p in params]

    def task_losses(self, batch: dict[str, torch.Tensor]) -> TaskLosses:
        losses = super().task_losses(batch)
        losses.parameter_groups = self.group_parameters()
        return losses

    def configure_gradient_clipping(
        self,
        optimizer: torch.optim.Optimizer,
        gradient_clip_val: float | None = None,
        gradient_clip_algorithm: str | None = None,
    ) -> None:
        """Clipping by norm uses each group's own gradient norm (its network and its tasks' heads)."""
        if not gradient_clip_val or gradient_clip_algorithm == "value" or len(self.groups) == 1:
            self.clip_gradients(optimizer, gradient_clip_val, gradient_clip_algorithm)
            return
        networks = []
        for g, net in enumerate(self.backbone.networks):
            rows = [j for j, t in enumerate(self.tasks) if t in self.groups[g]]
            grads = [p.grad for p in net.parameters()]
            grads += [p.grad[j] for p in self.heads.parameters() if p.grad is not None for j in rows]  # views
            networks.append(grads)
        clip_each_network(networks, gradient_clip_val)
