"""The end-of-run table at many tasks (ToxCast: 617): the best and worst tasks, macro, median and 10th percentile on
the console, every task in per_task_metrics.csv beside results.json; up to 24 tasks every row, and no such file."""

from __future__ import annotations

import csv
import math

import pytest
import torch
from rich.console import Console

from mtlkit.evaluation.metrics import MaskedMultilabelMetrics
from mtlkit.evaluation.results import (
    MANY_TASKS,
    SHOWN,
    TASK_TABLE_FILE,
    load_results,
    print_metrics_table,
    write_results,
)


def _metrics(n_tasks: int, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    tasks = [f"assay_{j:03d}" for j in range(n_tasks)]
    out = {}
    for split in ("val", "test"):
        metric = MaskedMultilabelMetrics(tasks)
        probs, y = torch.rand(80, n_tasks, generator=g), (torch.rand(80, n_tasks, generator=g) < 0.3).float()
        mask = torch.rand(80, n_tasks, generator=g) < 0.4
        mask[:, 0] = False  # a task without labels: AUROC undefined (n/a), never ranked
        metric.update(probs, y, mask)
        out[split] = metric.compute()
    return out


def _text(metrics: dict) -> str:
    console = Console(record=True, width=250)
    print_metrics_table(metrics, title="run", console=console)
    return console.export_text()


def test_many_tasks_show_the_best_and_worst_by_test_auroc_and_write_every_task_to_a_file(tmp_path):
    metrics = _metrics(60)
    text = _text(metrics)
    per_task = metrics["test"]["per_task"]
    ranked = sorted((t for t, r in per_task.items() if not math.isnan(r["auroc"])), key=lambda t: -per_task[t]["auroc"])
    shown = ranked[:SHOWN] + ranked[-SHOWN:]
    assert all(t in text for t in shown)
    assert not any(t in text for t in set(per_task) - set(shown))
    assert f"... {60 - 2 * SHOWN} more ({TASK_TABLE_FILE}, results.json)" in text
    assert "macro" in text and "median" in text and "10th percentile" in text
    assert "60 tasks, the 10 best and 10 worst by test auroc" in text
    assert len([line for line in text.splitlines() if "assay_" in line]) == 2 * SHOWN

    write_results({"metrics": metrics}, tmp_path)
    rows = list(csv.DictReader((tmp_path / TASK_TABLE_FILE).open()))
    assert [r["task"] for r in rows] == list(per_task)
    for r in rows:
        for split in ("val", "test"):
            want = metrics[split]["per_task"][r["task"]]
            for name in ("auroc", "ap", "acc", "f1"):
                cell = r[f"{split}_{name}"]
                assert (cell == "") if math.isnan(want[name]) else float(cell) == want[name]
            assert int(r[f"{split}_n_labelled"]) == want["n_labelled"]
    assert (
        rows[0]["test_auroc"] == ""
        and load_results(tmp_path)["metrics"]["test"]["per_task"]["assay_000"]["auroc"] is None
    )


@pytest.mark.parametrize("n_tasks", [3, MANY_TASKS])
def test_up_to_many_tasks_every_task_is_a_row_and_no_table_file_is_written(tmp_path, n_tasks):
    metrics = _metrics(n_tasks)
    text = _text(metrics)
    assert all(t in text for t in metrics["test"]["per_task"]) and "more (" not in text and "median" not in text
    write_results({"metrics": metrics}, tmp_path)
    assert not (tmp_path / TASK_TABLE_FILE).exists()
