"""The affinity of a run on disk: ``affinity.csv`` (one row per ordered pair of tasks), ``affinity.png`` (heatmaps),
and reading it back from a run folder (its results.json, else its affinity.csv)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

from mtlkit.errors import ConfigError

AFFINITY_CSV = "affinity.csv"
AFFINITY_PNG = "affinity.png"
COLUMNS = ("from_task", "to_task", "tag", "cosine", "measurements")


def write_affinity_csv(record: dict[str, Any], out_dir: str | Path) -> Path:
    """``affinity.csv``: ``from_task, to_task, tag`` (Z(from -> to)), ``cosine``, ``measurements`` (empty where
    never measured)."""
    path = Path(out_dir) / AFFINITY_CSV
    path.parent.mkdir(parents=True, exist_ok=True)
    tasks = record["tasks"]
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for i, a in enumerate(tasks):
            for j, b in enumerate(tasks):
                tag, cos = record["tag"][i][j], record["cosine"][i][j]
                writer.writerow([a, b, "" if tag is None else tag, "" if cos is None else cos, record["counts"][i][j]])
    return path


def read_affinity_csv(path: str | Path) -> dict[str, Any]:
    """An ``affinity`` record from an ``affinity.csv`` written by :func:`write_affinity_csv`."""
    with Path(path).open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or set(COLUMNS) - set(rows[0]):
        raise ConfigError(f"{path} is not an mtlkit affinity.csv (needs columns {', '.join(COLUMNS)})")
    tasks: list[str] = []
    for row in rows:
        for task in (row["from_task"], row["to_task"]):
            if task not in tasks:
                tasks.append(task)
    index = {t: k for k, t in enumerate(tasks)}
    t = len(tasks)
    record: dict[str, Any] = {"method": "tag", "tasks": tasks}
    record["tag"] = [[None] * t for _ in range(t)]
    record["cosine"] = [[None] * t for _ in range(t)]
    record["counts"] = [[0] * t for _ in range(t)]
    for row in rows:
        i, j = index[row["from_task"]], index[row["to_task"]]
        record["tag"][i][j] = float(row["tag"]) if row["tag"] else None
        record["cosine"][i][j] = float(row["cosine"]) if row["cosine"] else None
        record["counts"][i][j] = int(row["measurements"] or 0)
    return record


def read_affinity(source: str | Path) -> dict[str, Any]:
    """The affinity record of a run folder (results.json's ``affinity``, else affinity.csv) or of a CSV file."""
    path = Path(source)
    if path.is_file():
        return read_affinity_csv(path)
    results = path / "results.json"
    if results.is_file():
        record = json.loads(results.read_text()).get("affinity")
        if record:
            return record
    if (path / AFFINITY_CSV).is_file():
        return read_affinity_csv(path / AFFINITY_CSV)
    raise ConfigError(
        f"no task affinity in {path}: give a multitask run folder trained with affinity=tag (it writes "
        f"{AFFINITY_CSV}), or its {AFFINITY_CSV}"
    )


def plot_affinity(record: dict[str, Any], out_dir: str | Path, title: str = "") -> Path:
    """``affinity.png``: the lookahead affinity Z(row -> column) and the gradient cosines, side by side."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    matplotlib.rcParams["text.parse_math"] = False
    import matplotlib.pyplot as plt

    tasks = record["tasks"]
    t = len(tasks)
    size = max(4.0, 0.45 * t + 2.5)
    fig, axes = plt.subplots(1, 2, figsize=(2 * size + 1, size), dpi=120)
    panels = (
        ("tag", "lookahead affinity Z(row -> column)\n> 0: a step on row lowers column's loss"),
        ("cosine", "cosine of task gradients (shared parameters)"),
    )
    for ax, (key, label) in zip(axes, panels):
        values = [[math.nan if v is None else v for v in row] for row in record[key]]
        finite = [abs(v) for row in values for v in row if not math.isnan(v)] or [1.0]
        off_diagonal = [
            abs(values[i][j]) for i in range(t) for j in range(t) if i != j and not math.isnan(values[i][j])
        ]
        limit = max(off_diagonal or finite) or 1.0
        image = ax.imshow(values, cmap="RdBu", vmin=-limit, vmax=limit)
        ax.set_xticks(range(t), tasks, rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(t), tasks, fontsize=8)
        ax.set_title(label, fontsize=9)
        if t <= 12:
            for i in range(t):
                for j in range(t):
                    if not math.isnan(values[i][j]):
                        ax.text(j, i, f"{values[i][j]:.2g}", ha="center", va="center", fontsize=6)
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path = Path(out_dir) / AFFINITY_PNG
    fig.savefig(path)
    plt.close(fig)
    return path
