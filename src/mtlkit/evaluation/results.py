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
SCHEMA_VERSION = 1


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
    """Write ``results.json`` atomically into ``output_dir`` and return its path."""
    path = Path(output_dir) / RESULTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(_clean({"schema_version": SCHEMA_VERSION, **results}), indent=2, allow_nan=False)
    return atomic_write_text(path, text)  # whole or not at all; a full disk is one line


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
    extra = [_fmt(chosen["values"].get(t)) for t in tasks] if chosen else None
    for i, t in enumerate(tasks[:40]):
        cells = [_fmt(metrics[s]["per_task"][t][m]) for s in splits for m in METRICS]
        table.add_row(t, *cells, *([extra[i]] if extra else []))
    blank = ["" for _ in splits for _ in METRICS] + ([""] if chosen else [])
    if len(tasks) > 40:
        table.add_row(f"... {len(tasks) - 40} more (results.json)", *blank)
    macro = [_fmt(metrics[s]["macro"][m]) for s in splits for m in METRICS]
    table.add_row("macro", *macro, *([""] if chosen else []), style="bold")
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
