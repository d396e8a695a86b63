"""``weighting=upgrad|mgda|pcgrad|cagrad|nash_mtl|imtl_g|aligned_mtl|dualproj|graddrop|fairgrad``: the gradient
methods of TorchJD (``torchjd.aggregation``, the extra ``mtlkit[mtl]``), all through one wrapper.

The config names the aggregator class and gives its keyword arguments (its hyper-parameters) as keys of its own::

    _target_: mtlkit.objective.weighting.torchjd_aggregator.TorchJDAggregator
    aggregator: torchjd.aggregation.CAGrad
    c: 0.4

Missing labels: only the tasks present in the global batch (``losses.present``) are aggregated, the rows of the
others (zero) are dropped; no present task gives a zero direction (docs/loss.md, "Gradient methods and missing
labels"). Randomness: every call runs under a generator seeded from ``seed`` (the run's, ``${seed}`` in the configs)
and the training step, so that all DDP processes, which see the same averaged Jacobian, draw the same numbers and
return the same direction.

Weights: ``weights()`` are the ones the aggregator applied at the last step, ``direction = sum_j w_j J_j`` (0 for an
absent task), comparable with a loss weighting's (``weighting=ew`` is w = 1). Exact for the aggregators that are
torchjd ``WeightedAggregator``s (all but GradDrop): the weights come from their own ``weighting`` and the direction
is ``w @ J``, as their ``forward`` computes it. GradDrop's direction is not a combination of the rows (it drops
coordinates): its weights are the least-squares ``w`` with ``J^T w`` closest to the direction (an approximation).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch

from mtlkit.errors import ConfigError
from mtlkit.objective.task_losses import TaskLosses
from mtlkit.objective.weighting.base import GradientWeighting, Weighting

INSTALL = 'pip install "mtlkit[mtl]"'
TORCHJD_PACKAGES = {"torchjd", "numpy", "quadprog", "qpsolvers", "cvxpy", "ecos", "clarabel", "scipy"}  # [full]
PER_TASK_OPTIONS = ("pref_vector", "leak")  # torchjd's per-row tensors: given per task, cut to the present tasks


def step_seed(seed: int, step: int) -> int:
    """The seed of the aggregation at training step ``step`` (the same on every process)."""
    return (int(seed) * 1_000_003 + int(step)) % (2**63 - 1)


@contextmanager
def seeded_rng(seed: int, device: torch.device) -> Iterator[None]:
    """Run the block with the CPU generator and ``device``'s generator seeded with ``seed``; both are restored
    afterwards, so the aggregation neither depends on nor changes the training's random stream."""
    accelerated = device.type != "cpu"
    module = torch.get_device_module(device.type) if accelerated else None
    index = (device.index if device.index is not None else module.current_device()) if accelerated else None
    with torch.random.fork_rng(devices=[index] if accelerated else [], device_type=device.type):
        torch.default_generator.manual_seed(seed)
        if accelerated:
            generators = getattr(module, "default_generators", None)
            if generators:
                generators[index].manual_seed(seed)
            else:
                module.manual_seed(seed)
        yield


def _not_installed(path: str, exc: ImportError) -> ConfigError:
    """The one-line error for an aggregator whose package is missing: which package, and the fix."""
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        missing = exc.name.split(".")[0]
    else:  # torchjd names the packages of a missing extra in a list: "UPGrad requires ['quadprog'] to be ..."
        listed = re.search(r"\[([^\]]*)\]", str(exc))
        missing = listed.group(1).replace("'", "") if listed else str(exc)
    fix = f": {INSTALL}" if set(re.split(r"[,\s]+", missing)) <= TORCHJD_PACKAGES else ""
    return ConfigError(f"weighting.aggregator={path} needs {missing}, which is not installed{fix}")


def _load_class(path: str) -> type:
    """The torchjd aggregator class at ``path`` (``module.Class``); ConfigError if it cannot be imported."""
    module_name, _, name = path.rpartition(".")
    try:
        from torchjd.aggregation import Aggregator

        module = importlib.import_module(module_name) if module_name else None
    except ImportError as exc:
        if isinstance(exc, ModuleNotFoundError) and exc.name and importlib.util.find_spec(exc.name.split(".")[0]):
            raise ConfigError(f"weighting.aggregator={path}: there is no module {exc.name}") from exc
        raise _not_installed(path, exc) from exc
    cls = getattr(module, name, None)
    if not (isinstance(cls, type) and issubclass(cls, Aggregator)):
        raise ConfigError(f"weighting.aggregator={path} is not a torchjd.aggregation.Aggregator class")
    return cls


class TorchJDAggregator(GradientWeighting):
    """A gradient method that aggregates the Jacobian with a TorchJD aggregator (``aggregator(jacobian)``).

    Args:
        tasks: the task names, in the order of the Jacobian's rows.
        aggregator: the class path of a ``torchjd.aggregation.Aggregator``, e.g. ``torchjd.aggregation.UPGrad``.
        seed: seeds the random aggregators (PCGrad's order of projections, GradDrop's masks) together with the
            step: every process draws the same numbers, and a run draws the same ones again on resume.
        log_every: see :class:`~mtlkit.objective.weighting.base.Weighting`.
        jacobian: ``parameters`` (exact) or ``representation`` (see :class:`~mtlkit.objective.weighting.base.
            GradientWeighting`).
        **options: the aggregator's keyword arguments. ``pref_vector`` / ``leak`` are lists in task order;
            ``n_tasks`` (NashMTL) is filled in with the number of tasks aggregated.

    Only the present tasks are aggregated; an aggregator is built per set of present tasks, so a stateful one
    (NashMTL) keeps one state per set. Its state is not saved in checkpoints: it starts afresh on resume. With
    one present task, an aggregator built for a task count (NashMTL, which torchjd 0.18 cannot build for one
    task) returns that task's gradient, clipped to its ``max_norm`` (what its algorithm gives for one task).
    Raises ConfigError at construction if torchjd or a package the aggregator needs is missing.
    """

    def __init__(
        self,
        tasks: Sequence[str],
        aggregator: str,
        seed: int = 0,
        log_every: int | None = None,
        jacobian: str = "parameters",
        **options: Any,
    ):
        super().__init__(tasks, log_every, jacobian)
        self.aggregator = aggregator
        self.seed = int(seed)
        self._cls = _load_class(aggregator)
        params = inspect.signature(self._cls).parameters
        self._counted = "n_tasks" in params  # built for a number of tasks (NashMTL)
        default_norm = params["max_norm"].default if "max_norm" in params else None
        default_norm = None if default_norm is inspect.Parameter.empty else default_norm
        self._max_norm = float(options.get("max_norm", default_norm) or 0.0)  # one present task (see above)
        if "n_tasks" in options:
            raise ConfigError("weighting.n_tasks is set from the tasks; remove it from the config")
        for key in PER_TASK_OPTIONS:
            value = options.get(key)
            if value is not None and len(value) != len(self.tasks):
                raise ConfigError(f"weighting.{key} needs one value per task ({len(self.tasks)}), got {len(value)}")
        self.options = {k: list(v) if k in PER_TASK_OPTIONS and v is not None else v for k, v in options.items()}
        self._aggregators: dict[tuple, torch.nn.Module] = {}
        self._applied: torch.Tensor | None = None  # the weights of the last aggregation
        self._get(tuple(range(len(self.tasks))), torch.device("cpu"), torch.float32)  # fail now, not in training

    def describe(self) -> str:
        options = ", ".join(f"{k}={v}" for k, v in self.options.items())
        extra = ", on the shared features (an approximation)" if self.jacobian == "representation" else ""
        return f"{Weighting.describe(self)}: {self.aggregator}({options}), TorchJD{extra}"

    def weights(self) -> torch.Tensor | None:
        """``[T]``: the weights the last aggregation applied (``direction = w @ J``; 0 for absent tasks), None
        before the first one."""
        return self._applied

    def _build(self, rows: tuple[int, ...], device: torch.device, dtype: torch.dtype) -> torch.nn.Module:
        kwargs = dict(self.options)
        for key in PER_TASK_OPTIONS:
            if kwargs.get(key) is not None:
                kwargs[key] = torch.tensor([kwargs[key][j] for j in rows], device=device, dtype=dtype)
        if self._counted:
            kwargs["n_tasks"] = len(rows)
        try:
            return self._cls(**kwargs)
        except ImportError as exc:
            raise _not_installed(self.aggregator, exc) from exc
        except (TypeError, ValueError) as exc:
            options = f"weighting.aggregator={self.aggregator} refused its options {self.options}"
            raise ConfigError(f"{options}: {exc}") from exc

    def _get(self, rows: tuple[int, ...], device: torch.device, dtype: torch.dtype) -> torch.nn.Module:
        key = (rows, str(device), dtype)
        if key not in self._aggregators:
            self._aggregators[key] = self._build(rows, device, dtype)
        return self._aggregators[key]

    def aggregate(self, jacobian: torch.Tensor, losses: TaskLosses | None) -> torch.Tensor:
        """The direction ``[P]`` for the shared parameters: the aggregation of the present tasks' rows."""
        if jacobian.shape[0] != len(self.tasks):
            raise ValueError(f"a Jacobian of {jacobian.shape[0]} rows for {len(self.tasks)} tasks")
        present = [True] * len(self.tasks) if losses is None else losses.present.tolist()
        rows = tuple(j for j, p in enumerate(present) if p)
        applied = jacobian.new_zeros(len(self.tasks))
        self._applied = applied
        if not rows:
            return torch.zeros_like(jacobian[0])
        matrix = jacobian if len(rows) == len(self.tasks) else jacobian[list(rows)]
        if len(rows) == 1 and self._counted:
            norm = matrix[0].norm()
            clipped = 0 < self._max_norm < norm
            applied[rows[0]] = self._max_norm / norm if clipped else 1.0
            return matrix[0] * (self._max_norm / norm) if clipped else matrix[0].clone()
        step = 0 if losses is None else losses.step
        from torchjd.aggregation import WeightedAggregator  # installed: the constructor built one

        aggregator = self._get(rows, jacobian.device, jacobian.dtype)
        with seeded_rng(step_seed(self.seed, step), jacobian.device):
            if isinstance(aggregator, WeightedAggregator):  # exactly what its forward does, keeping the weights
                weights = aggregator.weighting(matrix)
                direction = weights @ matrix
            else:
                direction = aggregator(matrix)
                weights = least_squares_weights(matrix, direction)
        applied[list(rows)] = weights.detach().to(applied.dtype)
        return direction


def least_squares_weights(matrix: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
    """``w [k]`` minimising ``||matrix^T w - direction||`` (the least-norm one if the rows are dependent), from the
    ``k x k`` Gramian in float64: exact when the direction is a combination of the rows."""
    gramian = (matrix @ matrix.T).double()
    return torch.linalg.pinv(gramian, hermitian=True) @ (matrix @ direction).double()
