"""``results.json``: the machine-readable record of a run, and the per-task table printed at its end."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from mtlkit.console import get_console
from mtlkit.evaluation.metrics import METRICS

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
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(_clean({"schema_version": SCHEMA_VERSION, **results}), indent=2, allow_nan=False))
    tmp.replace(path)
    return path


def load_results(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_FILE
    return json.loads(path.read_text())


def _fmt(v: float | None) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


def print_metrics_table(metrics: Mapping[str, Mapping], title: str = "Results", console: Console | None = None) -> None:
    """One row per task (and a macro row) with AUROC / AP / acc / F1 for each evaluated split."""
    splits = [s for s in ("val", "test") if s in metrics]
    if not splits:
        return
    table = Table(title=title, title_justify="left")
    table.add_column("task")
    for s in splits:
        for m in METRICS:
            table.add_column(f"{s} {m}", justify="right")
    tasks = list(metrics[splits[0]]["per_task"])
    for t in tasks[:40]:
        table.add_row(t, *[_fmt(metrics[s]["per_task"][t][m]) for s in splits for m in METRICS])
    if len(tasks) > 40:
        table.add_row(f"... {len(tasks) - 40} more (results.json)", *["" for _ in splits for _ in METRICS])
    table.add_row("macro", *[_fmt(metrics[s]["macro"][m]) for s in splits for m in METRICS], style="bold")
    undefined = {s: {m: n for m, n in metrics[s]["undefined"].items() if n} for s in splits}
    console = console or get_console()
    console.print(table)
    for s, und in undefined.items():
        if und:
            console.print(
                f"[yellow]{s}: undefined (no labelled entry or one class) and left out of the macro mean: {und}"
            )
