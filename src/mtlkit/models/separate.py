"""``approach=separate``: T complete networks, one per task, trained side by side on the same batches.

Network j is backbone ``networks[j]`` plus head j of a :class:`~mtlkit.models.heads.TaskHeads` fed with
per-task features ``[B, T, F]``. No parameter is shared, each task's loss is normalised on its own, and
gradient clipping by norm is done per network, so network j's update never depends on another task's labels:
training the set equals training each network alone on the same batches. What the networks do share is
everything that costs without learning: one process, one data pipeline, one batch in memory, one optimizer
step over all parameters (AdamW and SGD update every element on its own).

The T backbones run one after the other. That works for any backbone, and network j stays a plain module (taking
it out is a copy). The alternative, fusing the T CNNs into one network with grouped convolutions, was not faster
on the 2-core CPU this was built on; ``scripts/bench_separate.py`` measures both, to recheck on other hardware.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from mtlkit.errors import CheckpointError, ConfigError
from mtlkit.models.clipping import clip_each_network
from mtlkit.models.module import MultiTaskModule

NETWORKS_PREFIX = "backbone.networks."


class SeparateBackbones(nn.Module):
    """T independent backbones on the same input; ``forward(x)`` returns per-task features [B, T, F]."""

    def __init__(self, networks: Sequence[nn.Module], tasks: Sequence[str]):
        super().__init__()
        if len(networks) != len(tasks) or not networks:
            raise ConfigError(f"need one network per task, got {len(networks)} networks for tasks {list(tasks)}")
        widths = {int(n.feature_dim) for n in networks}
        if len(widths) != 1:
            raise ConfigError(f"separate networks must share one feature width, got {sorted(widths)}")
        ids = {id(p) for n in networks for p in n.parameters()}
        if len(ids) != sum(1 for n in networks for _ in n.parameters()):
            raise ConfigError("separate networks must not share parameters; build each one on its own")
        self.networks = nn.ModuleList(networks)
        self.tasks = list(tasks)
        self.feature_dim = widths.pop()

    @classmethod
    def build(cls, factory: Callable[[], nn.Module], tasks: Sequence[str]) -> SeparateBackbones:
        """One freshly initialised backbone per task from ``factory``."""
        return cls([factory() for _ in tasks], tasks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([net(x) for net in self.networks], dim=1)

    def network(self, task: str | int) -> nn.Module:
        """A standalone copy of the backbone of ``task`` (a name or an index)."""
        return copy.deepcopy(self.networks[self.index(task)])

    def index(self, task: str | int) -> int:
        if isinstance(task, int):
            if not 0 <= task < len(self.tasks):
                raise ConfigError(f"network index {task} out of range; there are {len(self.tasks)} networks")
            return task
        if task not in self.tasks:
            raise ConfigError(f"no network for task {task!r}; the separate networks are for {self.tasks}")
        return self.tasks.index(task)


def network_state(state_dict: Mapping[str, torch.Tensor], index: int) -> dict[str, torch.Tensor]:
    """The backbone state of network ``index`` from a separate module's state dict (keys without prefix)."""
    prefix = f"{NETWORKS_PREFIX}{index}."
    state = {k[len(prefix) :]: v for k, v in state_dict.items() if k.startswith(prefix)}
    if not state:
        raise CheckpointError(f"the checkpoint holds no network {index} (no key starts with {prefix!r})")
    return state


def network_gradients(parameters: Sequence[tuple[torch.Tensor, int | None]]) -> list[torch.Tensor | None]:
    """The gradients of ``(tensor, row)`` pairs: a whole tensor's (row None) or one row of a stacked head's."""
    return [(p.grad if row is None or p.grad is None else p.grad[row]) for p, row in parameters]


class SeparateModule(MultiTaskModule):
    """T independent networks in one LightningModule (see the module docstring).

    Takes the arguments of :class:`MultiTaskModule`; ``backbone`` must be a :class:`SeparateBackbones`. Each task's
    loss is normalised by its own divisor, also globally under DDP (:class:`~mtlkit.objective.task_losses.TaskLosses`).
    """

    architecture = "separate"  # keys backbone.networks.<j>.*
    per_task_divisors = True

    @staticmethod
    def make_backbone(factory: Callable[[], nn.Module], tasks: Sequence[str], groups: Any = None) -> SeparateBackbones:
        """T freshly initialised backbones from ``factory``, one per task."""
        return SeparateBackbones.build(factory, tasks)

    @classmethod
    def transferable_backbone(
        cls, state_dict: Mapping[str, torch.Tensor], meta: Mapping[str, Any], task: str | None, file: object
    ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """The network of ``task`` (``transfer.task``, required: there is one network per task)."""
        tasks = list(meta.get("tasks") or [])
        if task is None:
            raise CheckpointError(
                f"{file} holds {len(tasks)} separate networks, one per task {tasks}; "
                f"choose whose backbone to transfer with transfer.task=<one of {tasks}>"
            )
        if task not in tasks:
            raise CheckpointError(f"transfer.task={task!r} has no network in {file}; choose one of {tasks}")
        return network_state(state_dict, tasks.index(task)), {"task": task}

    def __init__(self, backbone: SeparateBackbones, tasks: Sequence[str], **kwargs: Any):
        if not isinstance(backbone, SeparateBackbones):
            raise ConfigError(f"SeparateModule needs SeparateBackbones, got {type(backbone).__name__}")
        if list(tasks) != backbone.tasks:
            raise ConfigError(f"networks are for tasks {backbone.tasks}, heads for {list(tasks)}")
        super().__init__(backbone=backbone, tasks=tasks, **kwargs)
        if self.weighting.needs_shared_parameters:
            raise ConfigError(
                f"{type(self.weighting).__name__} works on the task gradients of shared parameters, and "
                "approach=separate shares none: use it with approach=multitask or transfer, or choose a loss weighting"
            )

    def network_parameters(self, index: int) -> list[tuple[torch.Tensor, int | None]]:
        """Network ``index``'s parameters as ``(tensor, row)``: its backbone (row None), its head row."""
        own: list[tuple[torch.Tensor, int | None]] = [(p, None) for p in self.backbone.networks[index].parameters()]
        own += [(p, index) for p in self.heads.parameters()]
        return own

    def configure_gradient_clipping(
        self,
        optimizer: torch.optim.Optimizer,
        gradient_clip_val: float | None = None,
        gradient_clip_algorithm: str | None = None,
    ) -> None:
        """Clipping by norm uses each network's own gradient norm (a global norm would couple the networks)."""
        if not gradient_clip_val or gradient_clip_algorithm == "value":
            self.clip_gradients(optimizer, gradient_clip_val, gradient_clip_algorithm)
            return
        networks = [network_gradients(self.network_parameters(j)) for j in range(len(self.tasks))]
        clip_each_network(networks, gradient_clip_val)

    def shared_parameters(self) -> list[nn.Parameter]:
        """None: no parameter is shared between the networks."""
        return []
