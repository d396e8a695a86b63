"""``results.json``: the machine-readable record of a run, and the tables printed at its end (per task, and the
example-based multi-label metrics)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from mtlkit.console import get_console
from mtlkit.evaluation.example_metrics import EXAMPLE_METRICS, LOWER_IS_BETTER
from mtlkit.evaluation.metrics import METRICS
from mtlkit.evaluation.thresholds import VAL_F1
from mtlkit.runtime.atomic_write import atomic_write_text

RESULTS_FILE = "results.json"
TASK_TABLE_FILE = "per_task_metrics.csv"  # beside results.json when there are more than MANY_TASKS tasks
SCHEMA_VERSION = 1
MANY_TASKS = 24  # over this, the console shows the SHOWN best and SHOWN worst tasks, and the full table is a file
SHOWN = 10


def _clean(value: Any) -> Any:
    """JSON has no NaN: undefined metrics are written as null."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def write_results(results: Mapping[str, Any], output_dir: str | Path) -> Path:
    """Write ``results.json`` atomically into ``output_dir`` and return its path; with more than ``MANY_TASKS``
    tasks also ``per_task_metrics.csv`` (:func:`write_task_table`), the table the console shortens."""
    path = Path(output_dir) / RESULTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(_clean({"schema_version": SCHEMA_VERSION, **results}), indent=2, allow_nan=False)
    metrics = results.get("metrics")
    if isinstance(metrics, Mapping) and len(_tasks(metrics)) > MANY_TASKS:
        write_task_table(metrics, path.parent / TASK_TABLE_FILE)
    return atomic_write_text(path, text)  # whole or not at all; a full disk is one line


def _splits(metrics: Mapping[str, Any]) -> list[str]:
    return [s for s in ("val", "test") if isinstance(metrics.get(s), Mapping) and "per_task" in metrics[s]]


def _tasks(metrics: Mapping[str, Any]) -> list[str]:
    splits = _splits(metrics)
    return list(metrics[splits[0]]["per_task"]) if splits else []


def write_task_table(metrics: Mapping[str, Any], path: str | Path) -> Path:
    """Every task's row, in task order: labelled entries and positives, then AUROC / AP / acc / F1 of each split
    (empty where undefined), and the val_f1 threshold when chosen."""
    splits = _splits(metrics)
    chosen = next((metrics[s]["thresholds"] for s in splits if _chosen(metrics[s])), None)
    header = ["task"] + [f"{s}_{k}" for s in splits for k in ("n_labelled", "n_pos", *METRICS)]
    header += ["threshold"] if chosen else []
    lines = [",".join(header)]
    for task in _tasks(metrics):
        cells = [_csv_cell(task)]
        for s in splits:
            row = metrics[s]["per_task"].get(task, {})
            cells += [_csv_value(row.get(k)) for k in ("n_labelled", "n_pos", *METRICS)]
        if chosen:
            cells.append(_csv_value(chosen["values"].get(task)))
        lines.append(",".join(cells))
    return atomic_write_text(Path(path), "\n".join(lines) + "\n")


def _csv_cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n') else text


def _csv_value(v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ""
    return repr(v) if isinstance(v, float) else str(v)


def load_results(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_FILE
    return json.loads(path.read_text())


def _fmt(v: float | None) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


def print_metrics_table(metrics: Mapping[str, Mapping], title: str = "Results", console: Console | None = None) -> None:
    """One row per task (and a macro row) with AUROC / AP / acc / F1 for each evaluated split (and the val_f1
    threshold of each task), then the example-based metrics and the examples each left out."""
    splits = [s for s in ("val", "test") if s in metrics]
    if not splits:
        return
    chosen = next((metrics[s]["thresholds"] for s in splits if _chosen(metrics[s])), None)
    table = Table(title=title, title_justify="left")
    table.add_column("task")
    for s in splits:
        for m in METRICS:
            table.add_column(f"{s} {m}", justify="right")
    if chosen:
        table.add_column("threshold", justify="right")
    tasks = list(metrics[splits[0]]["per_task"])
    extra = {t: _fmt(chosen["values"].get(t)) for t in tasks} if chosen else None
    blank = ["" for _ in splits for _ in METRICS] + ([""] if chosen else [])

    def add(t: str) -> None:
        cells = [_fmt(metrics[s]["per_task"][t][m]) for s in splits for m in METRICS]
        table.add_row(t, *cells, *([extra[t]] if extra else []))

    if len(tasks) <= MANY_TASKS:
        for t in tasks:
            add(t)
    else:  # the best and the worst by the last split's AUROC; every task in per_task_metrics.csv
        key = splits[-1]
        ranked = sorted(
            (t for t in tasks if _defined(metrics[key]["per_task"][t]["auroc"])),
            key=lambda t: -metrics[key]["per_task"][t]["auroc"],
        )
        best, worst = ranked[:SHOWN], ranked[max(SHOWN, len(ranked) - SHOWN) :]
        table.title = f"{title}: {len(tasks)} tasks, the {len(best)} best and {len(worst)} worst by {key} auroc"
        for t in best:
            add(t)
        hidden = len(tasks) - len(best) - len(worst)
        table.add_row(f"... {hidden} more ({TASK_TABLE_FILE}, results.json)", *blank, style="dim")
        for t in worst:
            add(t)
    macro = [_fmt(metrics[s]["macro"][m]) for s in splits for m in METRICS]
    table.add_row("macro", *macro, *([""] if chosen else []), style="bold")
    if len(tasks) > MANY_TASKS:
        for name, q in (("median", 0.5), ("10th percentile", 0.1)):
            cells = [_fmt(_quantile(metrics[s]["per_task"], m, q)) for s in splits for m in METRICS]
            table.add_row(name, *cells, *([""] if chosen else []))
    undefined = {s: {m: n for m, n in metrics[s]["undefined"].items() if n} for s in splits}
    console = console or get_console()
    console.print(table)
    for s, und in undefined.items():
        if und:
            console.print(
                f"[yellow]{s}: undefined (no labelled entry or one class) and left out of the macro mean: {und}"
            )
    if chosen:
        fallback = f"; no labelled positive on val, kept 0.5: {chosen['fallback']}" if chosen.get("fallback") else ""
        console.print(f"acc, F1, Hamming loss and micro-F1 use per-task thresholds chosen on val ({VAL_F1}){fallback}")
    else:
        rule = (metrics[splits[-1]].get("thresholds") or {}).get("rule", 0.5)
        if isinstance(rule, (int, float)) and rule != 0.5:
            console.print(f"acc, F1, Hamming loss and micro-F1 at threshold {rule:g} (eval.threshold)")
    print_example_table(metrics, splits, console)


def _defined(v: Any) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


def _quantile(per_task: Mapping[str, Mapping], metric: str, q: float) -> float | None:
    """The ``q`` quantile (nearest rank, lower) of a metric over the tasks where it is defined."""
    values = sorted(r[metric] for r in per_task.values() if _defined(r.get(metric)))
    return values[int(q * (len(values) - 1))] if values else None


def _chosen(split_metrics: Mapping[str, Any]) -> bool:
    return (split_metrics.get("thresholds") or {}).get("rule") == VAL_F1


def print_example_table(metrics: Mapping[str, Mapping], splits: list[str], console: Console) -> None:
    """The example-based metrics of each split (lower-is-better ones marked), and how many examples each left out."""
    blocks = {s: metrics[s].get("example_based") for s in splits if metrics[s].get("example_based")}
    if not blocks:
        return
    table = Table(title="Example-based multi-label metrics (docs/metrics.md)", title_justify="left")
    table.add_column("metric")
    for s in blocks:
        table.add_column(s, justify="right")
    table.add_column("examples left out", justify="right")
    for m in EXAMPLE_METRICS:
        arrow = "↓" if m in LOWER_IS_BETTER else "↑"
        counts = {s: (b.get("left_out_examples") or {}).get(m, 0) for s, b in blocks.items()}
        unit = ""
        if m == "macro_f1":  # left out: tasks without a labelled positive
            counts, unit = {s: (b.get("left_out_tasks") or {}).get(m, 0) for s, b in blocks.items()}, " tasks"
        left = ", ".join(f"{s} {n}{unit}" for s, n in counts.items() if n) or "-"
        table.add_row(f"{m} {arrow}", *[_fmt(b.get(m)) for b in blocks.values()], left)
    console.print(table)
