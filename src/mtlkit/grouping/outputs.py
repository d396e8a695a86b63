"""What a run with ``affinity=tag`` adds: the callback from the config, and at the end affinity.csv, affinity.png,
the best grouping for each k, printed with a ready-to-run override line, and results.json's entries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig
from rich.markup import escape
from rich.table import Table

from mtlkit.console import get_console
from mtlkit.errors import ConfigError
from mtlkit.grouping.affinity import TaskAffinity, affinity_matrix
from mtlkit.grouping.files import plot_affinity, write_affinity_csv
from mtlkit.grouping.search import Grouping, best_groupings, recommended

MAX_K = 8  # groupings proposed for k = 1 .. min(T, MAX_K)


def affinity_callback(cfg: DictConfig) -> TaskAffinity | None:
    """The :class:`TaskAffinity` callback ``affinity=`` selects, or None (``affinity=none``)."""
    node = cfg.get("affinity") or {}
    if not node.get("_target_"):
        return None
    callback = instantiate(node, _convert_="all")
    if not isinstance(callback, TaskAffinity):
        raise ConfigError(f"affinity._target_ must build a mtlkit.grouping.TaskAffinity, got {type(callback).__name__}")
    return callback


def override_line(groups: list[list[str]]) -> str:
    """The command-line overrides that train ``groups``: ``approach=grouped 'approach.groups=[[a,b],[c]]'``."""
    return "approach=grouped 'approach.groups=[" + ",".join("[" + ",".join(g) + "]" for g in groups) + "]'"


def grouping_record(grouping: Grouping) -> dict[str, Any]:
    """A grouping as results.json and advise record it."""
    return {
        "k": grouping.k,
        "groups": grouping.as_lists(),
        "score": float(f"{grouping.score:.7g}"),
        "task_scores": {t: float(f"{s:.7g}") for t, s in grouping.task_scores.items()},
        "method": grouping.method,
        "override": override_line(grouping.as_lists()),
    }


def print_groupings(groupings: list[Grouping]) -> None:
    """The best grouping for each k as a table, the recommended one marked."""
    best = recommended(groupings)
    table = Table(title="best grouping into k networks (score: sum over tasks of the mean affinity onto each)")
    for column in ("k", "score", "groups"):
        table.add_column(column)
    for g in groupings:
        mark = " <- best" if g is best else ""
        groups = "  ".join("{" + ", ".join(grp) + "}" for grp in g.groups)
        table.add_row(str(g.k), f"{g.score:+.3g}{mark}", escape(groups))
    console = get_console()
    console.print(table)
    line = f"train it: mtlkit-train {override_line(best.as_lists())}"
    console.print(line, markup=False, highlight=False, soft_wrap=True)  # [[a,b],[c]] is not rich markup


def finish_affinity(callback: TaskAffinity, out_dir: str | Path, title: str = "") -> dict[str, Any]:
    """Write affinity.csv and affinity.png into ``out_dir``, print the groupings; results.json's entries."""
    record = callback.record()
    if not callback.measurements:
        get_console().print("[yellow]note: affinity=tag took no measurement (fewer steps than affinity.every)")
        return {"affinity": record}
    write_affinity_csv(record, out_dir)
    plot_affinity(record, out_dir, title)
    tasks, z = affinity_matrix(record)
    groupings = best_groupings(tasks, z, MAX_K)
    print_groupings(groupings)
    return {
        "affinity": record,
        "groupings": [grouping_record(g) for g in groupings],
        "recommended_grouping": grouping_record(recommended(groupings)),
    }
