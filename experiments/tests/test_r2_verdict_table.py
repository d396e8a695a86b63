"""experiments/scripts/r2_verdict_table.py: one row per arm with its paired Δm and both verdicts; the focus column only
when an arm has that task; the per-task view puts tasks in rows and each arm's paired gain in its column."""

from __future__ import annotations

import importlib.util
import sys

from experiments.tests.conftest import SCRIPTS

spec = importlib.util.spec_from_file_location("r2_verdict_table", SCRIPTS / "r2_verdict_table.py")
r2_table = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = r2_table
spec.loader.exec_module(r2_table)


def _paired(mean, low, high, n=3):
    return {"mean": mean, "low": low, "high": high, "n": n, "std": 0.1}


RECORD = {
    "split": "test",
    "metric": "auroc",
    "tasks": ["a", "b"],
    "baseline": {
        "description": "separate networks",
        "macro": 0.95,
        "parameters": 2000,
        "fit_s": 10.0,
        "means": {"a": 0.9, "b": 1.0},
    },
    "arms": [
        {
            "name": "shared",
            "description": "one shared network",
            "macro": 0.93,
            "parameters": 1000,
            "fit_s": 5.0,
            "delta": _paired(-2.0, -3.0, -1.0),
            "per_task": {"a": _paired(-4.0, -6.0, -2.0), "b": _paired(0.2, -0.1, 0.5)},
        },
        {
            "name": "shared_x8",
            "description": "one shared network, 8x",
            "macro": 0.95,
            "parameters": 1000,
            "fit_s": 40.0,
            "delta": _paired(-0.3, -0.4, -0.2),
            "per_task": {"a": None, "b": _paired(0.0, -0.1, 0.1)},
        },
    ],
}


def test_rows_verdicts_and_worst_task_without_a_focus_column():
    lines = r2_table.table(RECORD, focus="pedestrian").splitlines()
    assert "pedestrian" not in lines[0]  # no arm has that task
    assert all(line.count("|") == lines[0].count("|") for line in lines)
    shared = lines[3].split(" | ")
    assert "-2.00 [-3.00, -1.00], 3" in shared and "worse" in shared and "a -4.00" in shared
    x8 = lines[4].split(" | ")
    assert x8[3:5] == ["worse", "no meaningful difference"]  # excludes 0, under the 0.5 % floor


def test_focus_column_when_the_task_exists():
    lines = r2_table.table(RECORD, focus="a").splitlines()
    assert "a gain, %" in lines[0]
    assert "-4.00 [-6.00, -2.00]" in lines[3] and lines[4].split(" | ")[5] == "-"


def test_per_task_view():
    lines = r2_table.per_task_table(RECORD).splitlines()
    assert lines[0] == "| task | separate: auroc | shared | shared_x8 |"
    assert lines[2] == "| a | 0.9000 | -4.00 [-6.00, -2.00] | - |"
    assert lines[3] == "| b | 1.0000 | +0.20 [-0.10, +0.50] | +0.00 [-0.10, +0.10] |"
