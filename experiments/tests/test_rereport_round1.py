"""experiments/scripts/rereport_round1.py: each configuration is paired with its baseline seed by seed (same missing
rate or B size), the relative difference of the macro metric gets a t interval, and the 0.5 % floor decides the
verdict."""

from __future__ import annotations

import csv
import importlib.util
import math
import sys

import pytest

from experiments.tests.conftest import SCRIPTS
from mtlkit.report.paired import t_quantile

spec = importlib.util.spec_from_file_location("rereport_round1", SCRIPTS / "rereport_round1.py")
rereport = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = rereport  # dataclasses look their module up
spec.loader.exec_module(rereport)

HEADER = ["status", "path", "approach", "data.num_train", "experiment", "seed", "auroc_macro", "error"]


def _write(path, rows):
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(rows)


def test_pairs_by_seed_and_size_and_applies_the_floor(tmp_path):
    scratch = {("50", 0): 0.60, ("50", 1): 0.70, ("50", 2): 0.65, ("500", 0): 0.90, ("500", 1): 0.91, ("500", 2): 0.92}
    gains = {"50": [0.06, 0.08, 0.07], "500": [0.002, 0.0025, 0.003]}  # +10 % at 50; about +0.27 % at 500
    rows = []
    for (size, seed), value in scratch.items():
        rows.append(["ok", "x", "multitask", size, "e__scratch", seed, value, ""])
        rows.append(["ok", "x", "transfer", size, "e", seed, value + gains[size][seed], ""])
    rows.append(["failed", "x", "transfer", "50", "e", 3, "", "boom"])  # a failed run is left out
    _write(tmp_path / "runs.csv", rows)
    spec_ = rereport.Spec("e", {"approach": "multitask"}, ("data.num_train",))
    out = {r["configuration"]: r for r in rereport.rows_of(spec_, tmp_path / "runs.csv", "auroc")}
    assert list(out) == ["approach=transfer, data.num_train=50", "approach=transfer, data.num_train=500"]
    small = out["approach=transfer, data.num_train=50"]
    diffs = [100 * gains["50"][s] / scratch[("50", s)] for s in range(3)]
    mean = sum(diffs) / 3
    half = t_quantile(0.975, 2) * math.sqrt(sum((d - mean) ** 2 for d in diffs) / 2) / math.sqrt(3)
    assert small["n"] == "3" and float(small["mean"]) == pytest.approx(mean, abs=0.006)
    assert float(small["low"]) == pytest.approx(mean - half, abs=0.006) and small["verdict"] == "better"
    # the interval excludes 0 but the mean is under the 0.5 % floor: no meaningful difference
    large = out["approach=transfer, data.num_train=500"]
    assert float(large["low"]) > 0 and large["verdict"] == "no meaningful difference"


def test_a_configuration_without_exactly_one_baseline_is_refused(tmp_path):
    _write(tmp_path / "runs.csv", [["ok", "x", "transfer", "50", "e", 0, 0.7, ""]])
    with pytest.raises(SystemExit, match="0 baselines, expected 1"):
        rereport.rows_of(
            rereport.Spec("e", {"approach": "multitask"}, ("data.num_train",)), tmp_path / "runs.csv", "auroc"
        )
