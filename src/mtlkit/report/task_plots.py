"""PNG plots of what the task-gradient monitor recorded (docs/task_gradients.md), one pair per configuration: the mean
cosine matrix of the task gradients as a heatmap, and the task weights over training as lines. A configuration with
several runs (seeds) is drawn as the mean over them (entrywise, over the runs where an entry is defined)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mtlkit.report.aggregate import Group
from mtlkit.report.build import Report
from mtlkit.report.plots import DPI, _pyplot, _slug

MAX_ANNOTATED = 12  # values are written into the heatmap cells up to this many tasks
MAX_LEGEND = 24  # tasks named in the legend of the weight plot


@dataclass
class CosineMatrix:
    """The mean cosine matrix ``[T, T]`` and mean gradient norms ``[T]`` of a configuration (NaN: undefined)."""

    label: str
    tasks: list[str]
    cosine: np.ndarray
    norm: np.ndarray
    runs: int
    measurements: int  # in all its runs together


@dataclass
class WeightHistory:
    """The task weights ``[S, T]`` at ``steps`` of each of a configuration's runs, or their mean over the runs."""

    label: str
    tasks: list[str]
    steps: list[list[int]]  # one list per line set: a single one when averaged
    weights: list[np.ndarray]
    runs: int

    @property
    def averaged(self) -> bool:
        return len(self.weights) == 1 and self.runs > 1


def _array(values: Any, shape: tuple[int, ...]) -> np.ndarray | None:
    """A nested list of numbers and None (results.json) as a float array (None -> NaN); None unless it has
    ``shape`` (-1: any length)."""
    try:
        out = np.array(values, dtype=float)  # None becomes NaN
    except (TypeError, ValueError):
        return None
    ok = out.ndim == len(shape) and all(n in (-1, m) for n, m in zip(shape, out.shape))
    return out if ok else None


def _nanmean(stack: np.ndarray) -> np.ndarray:
    """Mean over axis 0 of the defined entries, NaN where none is (without numpy's empty-slice warning)."""
    defined = ~np.isnan(stack)
    count = defined.sum(axis=0)
    total = np.where(defined, stack, 0.0).sum(axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), math.nan)


def _entries(group: Group, key: str) -> list[dict[str, Any]]:
    """The ``key`` blocks of the group's succeeded runs that have one (and a task list)."""
    out = []
    for run in group.ok_runs:
        block = (run.results or {}).get(key)
        if isinstance(block, dict) and (block.get("tasks") or run.tasks):
            out.append({"tasks": list(block.get("tasks") or run.tasks), **block})
    return out


def _chosen(tasks: list[str], wanted: Sequence[str] | None) -> list[int]:
    """Indices of ``wanted`` (all tasks when None) among ``tasks``."""
    return list(range(len(tasks))) if wanted is None else [tasks.index(t) for t in wanted if t in tasks]


def cosine_matrix(group: Group, wanted: Sequence[str] | None = None) -> CosineMatrix | None:
    """The mean over the group's runs of their ``task_gradients`` (the runs with the first run's tasks)."""
    blocks = []
    for b in _entries(group, "task_gradients"):
        t = len(b["tasks"])
        cos, norm = _array(b.get("cosine_mean"), (t, t)), _array(b.get("norm_mean"), (t,))
        if cos is not None and norm is not None and (not blocks or b["tasks"] == blocks[0][0]):
            blocks.append((b["tasks"], cos, norm, int(b.get("measurements") or 0)))
    if not blocks:
        return None
    tasks = blocks[0][0]
    idx = _chosen(tasks, wanted)
    if not idx:
        return None
    return CosineMatrix(
        label=group.label,
        tasks=[tasks[i] for i in idx],
        cosine=_nanmean(np.stack([cos[np.ix_(idx, idx)] for _, cos, _, _ in blocks])),
        norm=_nanmean(np.stack([norm[idx] for _, _, norm, _ in blocks])),
        runs=len(blocks),
        measurements=sum(n for *_, n in blocks),
    )


def weight_history(group: Group, wanted: Sequence[str] | None = None) -> WeightHistory | None:
    """The group's ``task_weights``: their mean when every run has the same steps, else each run's own lines."""
    blocks = []
    for b in _entries(group, "task_weights"):
        steps = _array(b.get("steps"), (-1,))
        weights = None if steps is None else _array(b.get("weights"), (len(steps), len(b["tasks"])))
        if weights is not None and len(steps) and (not blocks or b["tasks"] == blocks[0][0]):
            blocks.append((b["tasks"], [int(s) for s in steps], weights))
    if not blocks:
        return None
    tasks = blocks[0][0]
    idx = _chosen(tasks, wanted)
    if not idx:
        return None
    steps = [s for _, s, _ in blocks]
    weights = [w[:, idx] for _, _, w in blocks]
    if all(s == steps[0] for s in steps):
        steps, weights = [steps[0]], [_nanmean(np.stack(weights))]
    return WeightHistory(group.label, [tasks[i] for i in idx], steps, weights, len(blocks))


def _over(runs: int, averaged: bool = True) -> str:
    if runs == 1:
        return "1 run"
    return f"mean over {runs} runs (seeds)" if averaged else f"{runs} runs (seeds) drawn one by one"


def plot_cosine_heatmap(matrix: CosineMatrix, path: Path) -> Path:
    """The mean cosine matrix, tasks on both axes (mean gradient norms in the row labels), a diverging colormap
    centred at 0 (red: conflicting tasks), values written into the cells up to :data:`MAX_ANNOTATED` tasks."""
    plt = _pyplot()
    t = len(matrix.tasks)
    shown = matrix.cosine.copy()
    np.fill_diagonal(shown, math.nan)  # 1 by definition: left grey so that the colours show the pairs
    off = np.abs(shown[~np.isnan(shown)])
    limit = max(0.05, math.ceil(20 * float(off.max())) / 20) if off.size else 1.0
    cmap = plt.get_cmap("RdBu").with_extremes(bad="#d9d9d9")
    side = min(16.0, max(4.8, 2.4 + 0.55 * t))
    fig, ax = plt.subplots(figsize=(side + 1.8, side))
    image = ax.imshow(np.ma.masked_invalid(shown), cmap=cmap, vmin=-limit, vmax=limit)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label=f"cosine (colour scale ±{limit:g})")
    rows = [f"{task} (|g| {n:.3g})" if not math.isnan(n) else task for task, n in zip(matrix.tasks, matrix.norm)]
    size = 8 if t <= 16 else 6
    ax.set_xticks(range(t), matrix.tasks, rotation=45, ha="right", fontsize=size)
    ax.set_yticks(range(t), rows, fontsize=size)
    if t <= MAX_ANNOTATED:
        for i in range(t):
            for j in range(t):
                value = matrix.cosine[i, j]
                text = "n/a" if math.isnan(value) else f"{value:.2f}"
                strong = not math.isnan(shown[i, j]) and abs(shown[i, j]) > 0.6 * limit
                ax.text(j, i, text, ha="center", va="center", fontsize=7, color="white" if strong else "black")
    ax.set_title(
        f"{matrix.label}\nmean cosine of the task gradients (shared parameters)\n{_over(matrix.runs)}, "
        f"{matrix.measurements} measurement(s) in all",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def plot_task_weights(history: WeightHistory, path: Path) -> Path:
    """The task weights against the training step, one line (colour) per task."""
    plt = _pyplot()
    outside = 8 < len(history.tasks) <= MAX_LEGEND  # many tasks: the legend goes right of the axes
    fig, ax = plt.subplots(figsize=(8.4 if outside else 6.4, 4.2))
    cmap = plt.get_cmap("tab20" if len(history.tasks) > 10 else "tab10")
    for r, (steps, weights) in enumerate(zip(history.steps, history.weights)):
        for j, task in enumerate(history.tasks):
            ax.plot(
                steps,
                weights[:, j],
                color=cmap(j % cmap.N),
                marker="." if len(steps) <= 30 else None,
                linewidth=1.2 if len(history.steps) == 1 else 0.8,
                label=task if r == 0 else None,
            )
    ax.set_xlabel("training step")
    ax.set_ylabel("task weight")
    ax.set_title(f"{history.label}\ntask weights during training; {_over(history.runs, history.averaged)}", fontsize=9)
    ax.grid(alpha=0.3)
    if outside:
        ax.legend(fontsize=7, ncol=1 if len(history.tasks) <= 12 else 2, loc="center left", bbox_to_anchor=(1.01, 0.5))
    elif len(history.tasks) <= MAX_LEGEND:
        ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _name(prefix: str, label: str, used: set[str]) -> str:
    """``prefix_<configuration>.png``, unique among ``used``."""
    stem = f"{prefix}_{_slug(label)[:80] or 'all_runs'}"
    name, k = f"{stem}.png", 2
    while name in used:
        name, k = f"{stem}_{k}.png", k + 1
    used.add(name)
    return name


def draw_task_plots(report: Report, out_dir: Path) -> list[Path]:
    """For every configuration that has them: ``task_cosines_<configuration>.png`` (heatmap) and
    ``task_weights_<configuration>.png`` into ``out_dir``; returns the files written."""
    wanted = report.tasks if report.options.tasks else None
    paths: list[Path] = []
    used: set[str] = set()
    for group in report.groups:
        matrix = cosine_matrix(group, wanted)
        history = weight_history(group, wanted)
        if matrix is None and history is None:
            continue
        out_dir.mkdir(parents=True, exist_ok=True)
        if matrix is not None:
            paths.append(plot_cosine_heatmap(matrix, out_dir / _name("task_cosines", group.label, used)))
        if history is not None:
            paths.append(plot_task_weights(history, out_dir / _name("task_weights", group.label, used)))
    return paths
