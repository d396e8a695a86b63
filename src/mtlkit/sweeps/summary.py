"""At the end of a multirun (``mtlkit-train -m ...``), one table comparing its jobs, from their results.json.

Registered as a Hydra callback in conf/hydra/default.yaml. One row per job: what the job overrode that the
others did not, macro AUROC/AP on val and test, parameters (total and % trainable) and the job's wall time (data,
pre-training, training and evaluation). Jobs without a results.json are listed, never dropped. The table is also
written to ``summary.csv`` in the sweep folder.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig
from rich.table import Table

from mtlkit.console import get_console
from mtlkit.evaluation.results import RESULTS_FILE, _fmt

METRIC_COLUMNS = ("val auroc", "test auroc", "test ap")
COLUMNS = ("job", "overrides", "val auroc", "test auroc", "test ap", "params", "trainable %", "total s")


def _macro(res: dict[str, Any], split: str, metric: str) -> float | None:
    return ((res.get("metrics") or {}).get(split) or {}).get("macro", {}).get(metric)


def _is_job_folder(path: Path) -> bool:
    """A job's folder: numbered (Hydra's default ``hydra.sweep.subdir``), or named by another ``subdir`` (e.g.
    ``seed_${seed}``) and holding what a job writes (``.hydra/`` or results.json)."""
    return path.is_dir() and (path.name.isdigit() or (path / ".hydra").is_dir() or (path / RESULTS_FILE).is_file())


def _job_order(path: Path) -> tuple[int, int, str]:
    return (0, int(path.name), "") if path.name.isdigit() else (1, 0, path.name)


def _failed_mark(res: dict[str, Any]) -> str:
    """``FAILED (ErrorType) `` before a failed job's overrides (results.json written by RecordFailedJob)."""
    if res.get("status", "completed") == "completed":
        return ""
    return f"FAILED ({(res.get('error') or {}).get('type') or res.get('status')}) "


def summary_rows(sweep_dir: Path) -> list[dict[str, Any]]:
    """One row per job folder of ``sweep_dir`` (numbered sub-folders in job order, then named ones by name)."""
    jobs = sorted((p for p in sweep_dir.iterdir() if _is_job_folder(p)), key=_job_order)
    results = {}
    for job in jobs:
        file = job / RESULTS_FILE
        results[job.name] = json.loads(file.read_text()) if file.is_file() else None
    override_sets = [set(r.get("overrides") or []) for r in results.values() if r]
    common = set.intersection(*override_sets) if override_sets else set()
    rows = []
    for name, res in results.items():
        if res is None:
            rows.append({"job": name, "overrides": f"no {RESULTS_FILE} (failed or still running)"})
            continue
        params = res.get("parameters") or {}
        rows.append(
            {
                "job": name,
                "overrides": _failed_mark(res) + " ".join(o for o in res.get("overrides") or [] if o not in common),
                "val auroc": _macro(res, "val", "auroc"),
                "test auroc": _macro(res, "test", "auroc"),
                "test ap": _macro(res, "test", "ap"),
                "params": params.get("total"),
                "trainable %": params.get("trainable_pct"),
                "total s": (res.get("timings") or {}).get("total_s"),
            }
        )
    return rows


def _cell(column: str, value: Any) -> str:
    if value is None:
        return "" if column not in METRIC_COLUMNS else "n/a"
    if column in METRIC_COLUMNS:
        return _fmt(value)
    if column in ("trainable %", "total s"):
        return f"{value:.1f}"
    if column == "params":
        return f"{value:,}"
    return str(value)


def print_summary(sweep_dir: Path) -> list[dict[str, Any]]:
    """Print the comparison table of the jobs in ``sweep_dir`` and write it to ``summary.csv`` there."""
    rows = summary_rows(sweep_dir)
    if not rows:
        return rows
    table = Table(title=f"Multirun summary ({sweep_dir})", title_justify="left")
    for c in COLUMNS:
        table.add_column(c, justify="left" if c in ("job", "overrides") else "right")
    for row in rows:
        table.add_row(*[_cell(c, row.get(c)) for c in COLUMNS])
    get_console().print(table)
    with (sweep_dir / "summary.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    return rows


class SweepSummary(Callback):
    """Hydra callback: the summary table at the end of every multirun."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir))
        if sweep_dir.is_dir():
            print_summary(sweep_dir)
