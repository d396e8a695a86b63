"""approach=classical from the real command line: a sweep of per-task scikit-learn estimators beside a network's
sweep, one mtlkit-report over both (Δm against the network), and mtlkit-predict on a classical run."""

from __future__ import annotations

import json

import pytest

from tests.conftest import REPO
from tests.helpers import read_csv_rows, results_files, run_cli

pytestmark = pytest.mark.slow
TABLE = ["data=table", f"data.path={REPO / 'examples/table/patients.csv'}", "data.label_columns=[a,b,c]", "logger=none"]


def test_a_classical_sweep_reports_beside_a_network_and_predicts(tmp_path):
    net = ["-m", "approach=multitask", "model=mlp", "trainer.max_epochs=1", "seed=0,1", *TABLE]
    proc = run_cli([*net, f"hydra.sweep.dir={tmp_path / 'net'}"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    classical = ["-m", "approach=classical", "model=logreg", "model.C=[0.1,1]", "seed=0,1", *TABLE]
    proc = run_cli([*classical, f"hydra.sweep.dir={tmp_path / 'cl'}"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = [json.loads(f.read_text()) for f in results_files(tmp_path / "cl")]
    assert len(runs) == 2 and {r["approach"] for r in runs} == {"classical"}
    assert all(r["classical"]["searched"] == ["C"] and r["epochs"] is None for r in runs)
    report = ["--out", str(tmp_path / "report"), "--baseline", "approach=multitask", "--no-plots"]
    report += ["--ignore", "model", "trainer.max_epochs"]
    proc = run_cli([str(tmp_path / "net"), str(tmp_path / "cl"), *report], tmp_path, module="mtlkit.cli.report")
    assert proc.returncode == 0, proc.stderr[-3000:]
    delta = read_csv_rows(tmp_path / "report" / "per_task_delta.csv")
    assert {(r["approach"], r["task"]) for r in delta if r["metric"] == "auroc"} >= {("classical", t) for t in "abc"}
    run_dir = results_files(tmp_path / "cl")[0].parent
    out = tmp_path / "pred.csv"
    proc = run_cli([str(run_dir), "-o", str(out)], tmp_path, module="mtlkit.cli.predict")
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = read_csv_rows(out)
    assert len(rows) == runs[0]["data"]["sizes"]["test"] and 0 <= float(rows[0]["prob_a"]) <= 1
