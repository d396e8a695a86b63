"""Watching the tasks pull on the shared parameters: per-task gradient norms, their pairwise cosines, the weights.

At the training steps ``log_every`` chooses, :class:`TaskGradientMonitor` takes the Jacobian ``[T, P]`` of the task
losses on the global batch w.r.t. the shared parameters (:meth:`~mtlkit.objective.task_losses.TaskLosses.jacobian`,
exact under DDP, so every process computes the same numbers) and measures each task's gradient norm and the cosine
of every pair of task gradients. A negative cosine means two tasks pull the shared parameters in conflicting
directions; a norm that dwarfs the others means one task dominates the shared features. The monitor keeps running
means (with per-entry counts) and a thinned history of the task weights for results.json; docs/task_gradients.md
says how to read them.

It never changes training: the Jacobian comes from ``torch.autograd.grad`` with the graph retained (no ``.grad``
is touched). It costs T extra backward passes per measurement with a loss weighting, and nothing extra with a
gradient method, which computes the same (cached) Jacobian at every step anyway. Over ``MAX_PAIR_TASKS`` tasks the
per-epoch default measures the gradients only where they are free (a gradient method; :meth:`measures_gradients`)
and logs the pairs' summaries rather than every pair.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from mtlkit.objective.task_losses import TaskLosses

MAX_PAIR_TASKS = 50  # up to this many tasks every task's and pair's value is logged (1,325 scalars); over it, summaries
MAX_HISTORY = 200  # points of the weight history kept for results.json (thinned by halving as training goes on)


@dataclass
class Measurement:
    """One measurement: ``norms`` ``[T]`` and ``cosines`` ``[T, T]`` (NaN where a task was absent or its gradient
    zero; None when nothing is shared) and the task ``weights`` ``[T]``, all float64 on the CPU."""

    step: int
    weights: torch.Tensor
    norms: torch.Tensor | None = None
    cosines: torch.Tensor | None = None


def gradient_geometry(jacobian: torch.Tensor, present: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(norms [T], cosines [T, T])`` of the rows of ``jacobian`` ``[T, P]``, float64 on the CPU.

    A task not ``present`` (no labelled entry in the batch) gets NaN for its norm and for its row and column of
    cosines; a cosine involving a zero gradient is undefined, also NaN. The diagonal is 1 where defined.
    """
    norms = torch.linalg.vector_norm(jacobian, dim=1)
    gram = jacobian @ jacobian.T
    norms64 = norms.detach().double().cpu()
    cosines = (gram.detach().double().cpu() / torch.outer(norms64, norms64)).clamp(-1.0, 1.0)
    present = present.detach().cpu().bool()
    defined = present & (norms64 > 0)
    cosines[~(defined[:, None] & defined[None, :])] = math.nan
    cosines.diagonal()[defined] = 1.0
    norms64[~present] = math.nan
    return norms64, cosines


class TaskGradientMonitor:
    """Measures and accumulates the task-gradient geometry every ``log_every`` steps (:meth:`scalars`: what to log).

    Args:
        tasks: task names, in the order of the losses.
        log_every: measure at the steps divisible by N (global steps, the first micro-batch of each under
            gradient accumulation); None: at the first training step of every epoch; 0: never.
        max_history: at most this many (step, weights) points are kept, plus the last one (halved when full).

    State (running sums and counts, the history) survives resume through :meth:`state_dict` /
    :meth:`load_state_dict`, which the LightningModule puts into its checkpoints; :meth:`reset` starts a new fit.
    """

    def __init__(self, tasks: Sequence[str], log_every: int | None = None, max_history: int = MAX_HISTORY):
        self.tasks = list(tasks)
        self.log_every = log_every
        self.max_history = max(2, int(max_history))
        self.reset()

    def reset(self) -> None:
        """Forget every measurement (a new fit starts)."""
        t = len(self.tasks)
        self.norm_sum = torch.zeros(t, dtype=torch.float64)
        self.norm_count = torch.zeros(t, dtype=torch.long)
        self.cos_sum = torch.zeros(t, t, dtype=torch.float64)
        self.cos_count = torch.zeros(t, t, dtype=torch.long)
        self.measurements = 0  # measurements of the gradients
        self.weighings = 0  # measurements of the weights (also where nothing is shared)
        self.stride = 1  # the history keeps every stride-th weighing
        self.history: list[tuple[int, list[float]]] = []
        self.last: tuple[int, list[float]] | None = None
        self.last_step = -1
        self.last_epoch = -1

    def due(self, step: int, epoch: int) -> bool:
        """Whether training step ``step`` (global, before its optimizer step) of ``epoch`` is measured."""
        if self.log_every == 0:
            return False
        if self.log_every is None:
            return epoch != self.last_epoch
        return step % self.log_every == 0 and step != self.last_step

    def measure(self, losses: TaskLosses, weights: torch.Tensor | None) -> Measurement:
        """Measure one step: the weights always, the gradients when ``losses`` has shared parameters."""
        t = len(self.tasks)
        w = torch.ones(t, dtype=torch.float64) if weights is None else weights.detach().double().cpu().reshape(-1)
        if w.numel() != t:
            raise ValueError(f"the weighting returned {w.numel()} weights for {t} tasks")
        out = Measurement(step=int(losses.step), weights=w)
        self.last_step, self.last_epoch = int(losses.step), int(losses.epoch)
        self._record_weights(out.step, w)
        if self.measures_gradients(losses):
            out.norms, out.cosines = gradient_geometry(losses.jacobian(), losses.present)
            self._accumulate(out.norms, out.cosines)
        return out

    def measures_gradients(self, losses: TaskLosses) -> bool:
        """Whether a measurement takes the gradients (not only the weights): when parameters are shared, and the
        step's Jacobian is already computed (a gradient method), or ``log_every`` was set, or there are at most
        ``MAX_PAIR_TASKS`` tasks. With the per-epoch default and more tasks, a loss weighting would pay T backward
        passes and a ``[T, P]`` Jacobian every epoch (ToxCast, 617 tasks: about 30 s and 1.5 GB a measurement on
        2 cores), so only the weights are recorded; ``weighting.log_every=N`` measures the gradients."""
        if not list(losses.shared_parameters):
            return False
        cached = getattr(losses, "_jacobian", None) is not None
        return cached or self.log_every is not None or len(self.tasks) <= MAX_PAIR_TASKS

    def _accumulate(self, norms: torch.Tensor, cosines: torch.Tensor) -> None:
        self.measurements += 1
        ok = ~torch.isnan(norms)
        self.norm_sum[ok] += norms[ok]
        self.norm_count += ok.long()
        ok = ~torch.isnan(cosines)
        self.cos_sum[ok] += cosines[ok]
        self.cos_count += ok.long()

    def _record_weights(self, step: int, weights: torch.Tensor) -> None:
        point = (step, [float(v) for v in weights])
        if self.weighings % self.stride == 0:
            self.history.append(point)
            if len(self.history) > self.max_history:
                self.history = self.history[::2]
                self.stride *= 2
        self.weighings += 1
        self.last = point

    def scalars(self, m: Measurement) -> dict[str, float]:
        """What is logged. Up to ``MAX_PAIR_TASKS`` tasks: ``train/weight/<task>``, ``train/grad_norm/<task>`` and
        ``train/grad_cos/<a>~<b>`` for each pair (a before b in task order); over it the per-task and per-pair
        values are summarised (``train/weight_min`` / ``_max``, ``train/grad_norm_min`` / ``_mean`` / ``_max``):
        ToxCast's 617 tasks would log 190,000 pair scalars a measurement, minutes an epoch, and results.json has
        every mean all the same. Always: ``train/grad_cos_mean``, ``train/grad_cos_min`` and ``train/grad_conflict``
        (the share of pairs with a negative cosine). Undefined values (an absent task) are left out."""
        t = len(self.tasks)
        each = t <= MAX_PAIR_TASKS
        if each:
            out = {f"train/weight/{task}": v for task, v in zip(self.tasks, m.weights.tolist())}
        else:
            out = {"train/weight_min": float(m.weights.min()), "train/weight_max": float(m.weights.max())}
        if m.norms is None or m.cosines is None:
            return out
        if each:
            for task, v in zip(self.tasks, m.norms.tolist()):
                if not math.isnan(v):
                    out[f"train/grad_norm/{task}"] = v
        elif bool((~torch.isnan(m.norms)).any()):
            norms = m.norms[~torch.isnan(m.norms)]
            out.update(
                {
                    "train/grad_norm_min": float(norms.min()),
                    "train/grad_norm_mean": float(norms.mean()),
                    "train/grad_norm_max": float(norms.max()),
                }
            )
        rows, cols = torch.triu_indices(t, t, offset=1)
        pairs = m.cosines[rows, cols]
        defined = ~torch.isnan(pairs)
        if bool(defined.any()):
            values = pairs[defined]
            out["train/grad_cos_mean"] = float(values.mean())
            out["train/grad_cos_min"] = float(values.min())
            out["train/grad_conflict"] = float((values < 0).double().mean())
        if each:
            for i, j, v in zip(rows.tolist(), cols.tolist(), pairs.tolist()):
                if not math.isnan(v):
                    out[f"train/grad_cos/{self.tasks[i]}~{self.tasks[j]}"] = v
        return out

    def norm_mean(self) -> torch.Tensor:
        """``[T]`` mean gradient norm of each task over the measurements where it was present (NaN: never)."""
        return _mean(self.norm_sum, self.norm_count)

    def cosine_mean(self) -> torch.Tensor:
        """``[T, T]`` mean cosine of each pair over the measurements where both were present (NaN: never)."""
        return _mean(self.cos_sum, self.cos_count)

    def record(self) -> dict[str, Any]:
        """The results.json entries: ``task_gradients`` (when measured) and ``task_weights`` (when weighed); NaN is
        written as None."""
        out: dict[str, Any] = {}
        if self.measurements:
            out["task_gradients"] = {
                "tasks": list(self.tasks),
                "norm_mean": _json(self.norm_mean().tolist()),
                "norm_count": self.norm_count.tolist(),
                "cosine_mean": _json(self.cosine_mean().tolist()),
                "cosine_count": self.cos_count.tolist(),
                "measurements": self.measurements,
            }
        if self.history:
            points = list(self.history)
            if self.last is not None and self.last[0] != points[-1][0]:
                points.append(self.last)
            out["task_weights"] = {
                "tasks": list(self.tasks),
                "steps": [s for s, _ in points],
                "weights": [_json(w) for _, w in points],
            }
        return out

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue after a resume (plain tensors, numbers and lists)."""
        return {
            "tasks": list(self.tasks),
            "norm_sum": self.norm_sum.clone(),
            "norm_count": self.norm_count.clone(),
            "cos_sum": self.cos_sum.clone(),
            "cos_count": self.cos_count.clone(),
            "measurements": self.measurements,
            "weighings": self.weighings,
            "stride": self.stride,
            "history": [(s, list(w)) for s, w in self.history],
            "last": self.last,
            "last_step": self.last_step,
            "last_epoch": self.last_epoch,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`state_dict` (a state for other tasks is ignored: a fresh start)."""
        if list(state.get("tasks") or []) != self.tasks:
            self.reset()
            return
        self.norm_sum = state["norm_sum"].double().cpu().clone()
        self.norm_count = state["norm_count"].long().cpu().clone()
        self.cos_sum = state["cos_sum"].double().cpu().clone()
        self.cos_count = state["cos_count"].long().cpu().clone()
        self.measurements = int(state["measurements"])
        self.weighings = int(state["weighings"])
        self.stride = int(state["stride"])
        self.history = [(int(s), [float(v) for v in w]) for s, w in state["history"]]
        last = state.get("last")
        self.last = None if last is None else (int(last[0]), [float(v) for v in last[1]])
        self.last_step = int(state["last_step"])
        self.last_epoch = int(state["last_epoch"])


def _mean(total: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    """``total / count`` entrywise, NaN where ``count`` is 0."""
    mean = total / count.clamp(min=1).double()
    mean[count == 0] = math.nan
    return mean


def _json(values: Any) -> Any:
    """NaN and infinities (nested in lists) as None: results.json holds no NaN."""
    if isinstance(values, list):
        return [_json(v) for v in values]
    return None if isinstance(values, float) and not math.isfinite(values) else values
