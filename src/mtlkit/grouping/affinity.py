"""``affinity=tag``: which tasks help each other, measured during one multitask training run.

Lookahead inter-task affinity (Fifty, Amid, Zhao, Yu, Anil and Finn, "Efficiently Identifying Task Groupings for
Multi-Task Learning", NeurIPS 2021, "TAG"): at a measured step, with shared parameters ``theta`` and learning rate
``eta``, for each task i the shared parameters take one gradient step on task i alone,
``theta'_i = theta - eta * grad_theta L_i``, and

    Z(i -> j) = 1 - L_j(theta'_i) / L_j(theta)

on the same batch (heads unchanged). Z(i -> j) > 0: a step on i lowers j's loss (i helps j); < 0: it hurts j.
Beside it, the pairwise cosine of the task gradients on the shared parameters (the same Jacobian).

Partial labels: a task with no labelled entry in the batch contributes no measurement there (neither as i, whose
gradient is zero, nor as j, whose loss is undefined): the entry's mean is over the steps where it was measured,
with its count kept, never a zero. Exact under DDP: the Jacobian and the losses are those of the global batch
(:class:`~mtlkit.objective.task_losses.TaskLosses`), identical on every process.

Dropout: the baseline and every lookahead forward pass draw the same dropout masks (the random number generators
are replayed before each pass). TAG compares one batch's loss before and after the step; with fresh masks in each
pass, Z would also measure the masks' noise (|Z| up to 0.14 with ``model.dropout=0.3`` and a 1e-9 step). Same masks
rather than eval mode: the step is the gradient taken with those masks (and BatchNorm's batch statistics), i.e. the
step training takes, and Z then tends to 0 with the step size.

It never changes training: the lookahead forward passes run on copies of the parameters, with BatchNorm's running
statistics and the random number generators put back afterwards, so a run with ``affinity=tag`` trains exactly
as without it. Cost per measurement: T backward passes and T + 1 forward passes (``every`` sets how often).
"""

from __future__ import annotations

import math
import time
from typing import Any

import pytorch_lightning as pl
import torch
from torch.func import functional_call

from mtlkit.errors import ConfigError
from mtlkit.objective.task_gradient_monitor import gradient_geometry


class _RandomReplay:
    """Puts the random number generators of ``device`` (and the CPU's) back to where they were at construction, so
    that the next forward pass draws the same dropout masks as the one after construction did."""

    def __init__(self, device: torch.device):
        self._accelerator = None if device.type == "cpu" else torch.get_device_module(device.type)
        self._index = (
            None
            if self._accelerator is None
            else (device.index if device.index is not None else self._accelerator.current_device())
        )
        self._cpu = torch.get_rng_state()
        self._device = None if self._accelerator is None else self._accelerator.get_rng_state(self._index)

    def __call__(self) -> None:
        torch.set_rng_state(self._cpu)
        if self._accelerator is not None:
            self._accelerator.set_rng_state(self._device, self._index)


def lookahead_affinity(module: Any, batch: dict[str, torch.Tensor], lr: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(Z [T, T], cosines [T, T])`` on ``batch`` for ``module`` (a :class:`~mtlkit.models.module.MultiTaskModule`),
    float64 on the CPU, NaN where not measured (see the module docstring). Every forward pass draws the same
    dropout masks (the random generators are replayed), so Z is the effect of the step alone."""
    named = [(n, p) for n, p in module.named_parameters() if p.requires_grad and n.startswith("backbone.")]
    if not named:
        raise ConfigError("affinity=tag needs shared parameters that train; this model has none")
    replay = _RandomReplay(batch["x"].device)
    with torch.enable_grad():
        losses = module.task_losses(batch)
        losses.shared_parameters = [p for _, p in named]
        jacobian = losses.jacobian().detach()
    before = losses.values.detach().double().cpu()
    present = losses.present.detach().cpu() & (before > 0)
    t = len(before)
    z = torch.full((t, t), math.nan, dtype=torch.float64)
    with torch.no_grad():
        for i in range(t):
            if not bool(present[i]):
                continue
            params, offset = {}, 0
            for name, p in named:
                n = p.numel()
                params[name] = p - lr * jacobian[i, offset : offset + n].view_as(p).to(p.dtype)
                offset += n
            replay()  # the baseline's dropout masks: otherwise Z measures their noise, not the step
            logits = functional_call(module, params, (batch["x"],))
            after = module.objective.task_losses(logits, batch["y"], batch["mask"], module.pos_weight).values
            z[i] = 1.0 - after.double().cpu() / before
    z[:, ~present] = math.nan
    _, cosines = gradient_geometry(jacobian, present)
    return z, cosines


class TaskAffinity(pl.Callback):
    """Measures :func:`lookahead_affinity` every ``every`` training steps and keeps the running means.

    Args:
        every: measure at the global steps divisible by ``every`` (>= 1).
        lr: the lookahead step size; None: the optimizer's current learning rate of the backbone's group (what
            the paper uses: the step the network is about to take, in SGD form).
    """

    def __init__(self, every: int = 10, lr: float | None = None):
        super().__init__()
        if not isinstance(every, int) or every < 1:
            raise ConfigError(f"affinity.every must be an integer >= 1 (measure every N steps), got {every!r}")
        if lr is not None and not lr > 0:
            raise ConfigError(f"affinity.lr must be > 0 or null (the optimizer's learning rate), got {lr}")
        self.every, self.lr = every, lr
        self.tasks: list[str] = []
        self.reset(0)

    def reset(self, t: int) -> None:
        """Forget every measurement (``t`` tasks)."""
        self.sums = {"tag": torch.zeros(t, t, dtype=torch.float64), "cosine": torch.zeros(t, t, dtype=torch.float64)}
        self.counts = {"tag": torch.zeros(t, t, dtype=torch.long), "cosine": torch.zeros(t, t, dtype=torch.long)}
        self.measurements = 0
        self.seconds = 0.0
        self.lrs: list[float] = []

    def on_fit_start(self, trainer: pl.Trainer, pl_module: Any) -> None:
        if list(pl_module.tasks) != self.tasks:
            self.tasks = list(pl_module.tasks)
            self.reset(len(self.tasks))

    def _lr(self, trainer: pl.Trainer) -> float:
        if self.lr is not None:
            return float(self.lr)
        return float(trainer.optimizers[0].param_groups[0]["lr"])  # group 0: the backbone (parameter_groups)

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: Any, batch: Any, batch_idx: int) -> None:
        if trainer.global_step % self.every:
            return
        t0 = time.perf_counter()
        lr = self._lr(trainer)
        buffers = [(b, b.clone()) for b in pl_module.buffers()]
        devices = [batch["x"].device] if batch["x"].is_cuda else []
        with torch.random.fork_rng(devices=devices):
            try:
                z, cos = lookahead_affinity(pl_module, batch, lr)
            finally:
                for b, saved in buffers:
                    b.copy_(saved)
        self.add({"tag": z, "cosine": cos})
        self.lrs.append(lr)
        self.seconds += time.perf_counter() - t0

    def add(self, measurement: dict[str, torch.Tensor]) -> None:
        """Add one measurement (NaN entries are not counted)."""
        for key, value in measurement.items():
            ok = ~torch.isnan(value)
            self.sums[key] += torch.where(ok, value, 0.0)
            self.counts[key] += ok.long()
        self.measurements += 1

    def means(self) -> dict[str, torch.Tensor]:
        """``{"tag": [T, T], "cosine": [T, T]}``: means over the measurements (NaN where never measured)."""
        return {
            k: torch.where(self.counts[k] > 0, self.sums[k] / self.counts[k].clamp(min=1), math.nan) for k in self.sums
        }

    def record(self) -> dict[str, Any]:
        """The ``affinity`` entry of results.json."""
        means = self.means()

        def matrix(m: torch.Tensor) -> list[list[float | None]]:
            return [[None if math.isnan(v) else float(f"{v:.7g}") for v in row] for row in m.tolist()]

        return {
            "method": "tag",
            "tasks": self.tasks,
            "tag": matrix(means["tag"]),
            "cosine": matrix(means["cosine"]),
            "counts": self.counts["tag"].tolist(),
            "measurements": self.measurements,
            "every": self.every,
            "lr": self.lr if self.lr is not None else "optimizer",
            "mean_lr": sum(self.lrs) / len(self.lrs) if self.lrs else None,
            "seconds": round(self.seconds, 3),
        }

    def state_dict(self) -> dict[str, Any]:
        return {
            "tasks": self.tasks,
            "sums": self.sums,
            "counts": self.counts,
            "measurements": self.measurements,
            "seconds": self.seconds,
            "lrs": self.lrs,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.tasks = list(state_dict["tasks"])
        self.sums, self.counts = state_dict["sums"], state_dict["counts"]
        self.measurements, self.seconds = int(state_dict["measurements"]), float(state_dict["seconds"])
        self.lrs = list(state_dict.get("lrs", []))


def affinity_matrix(record: dict[str, Any], key: str = "tag") -> tuple[list[str], torch.Tensor]:
    """``(tasks, [T, T] float64)`` from an ``affinity`` record (None entries as NaN)."""
    rows = [[math.nan if v is None else float(v) for v in row] for row in record[key]]
    return list(record["tasks"]), torch.tensor(rows, dtype=torch.float64).reshape(len(record["tasks"]), -1)
