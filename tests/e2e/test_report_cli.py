"""mtlkit-report on real multiruns made by the console script (a failing job included)."""

from __future__ import annotations

import shutil

import pytest

from tests.helpers import only_row, read_csv_rows
from tests.helpers.reports import is_png

pytestmark = pytest.mark.slow


@pytest.mark.slow
def test_report_on_a_real_multirun(tmp_path):
    """A tiny real sweep through mtlkit-train, then mtlkit-report on its folder, as a user runs both."""

    from tests.conftest import TINY
    from tests.helpers import run_cli

    sweep = tmp_path / "sweep"
    proc = run_cli(["-m", "seed=0,1", "data.missing_rate=0,0.5", *TINY, f"hydra.sweep.dir={sweep}"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "report"
    proc = run_cli(
        [str(sweep), "--out", str(out), "--baseline", "data.missing_rate=0"], tmp_path, module="mtlkit.report"
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "4 succeeded, 0 failed, 0 missing" in proc.stdout
    summary = read_csv_rows(out / "summary.csv")
    assert [r["data.missing_rate"] for r in summary] == ["0", "0.5"]
    assert all(r["n_ok"] == "2" and r["seeds"] == "0 1" for r in summary)
    assert all(0.0 <= float(r["auroc_mean"]) <= 1.0 for r in summary)
    assert float(only_row(summary, **{"data.missing_rate": "0"})["delta_m_auroc_pct"]) == pytest.approx(0.0, abs=1e-9)
    assert is_png(out / "plots" / "auroc_vs_data.missing_rate.png")
    assert is_png(out / "plots" / "delta_m_auroc_vs_data.missing_rate.png")

    # The example-based metrics real runs record, as the headline metric (lower is better: Δm's sign flipped)
    from mtlkit.cli.report import main as report_main

    args = [str(sweep), "--out", str(tmp_path / "hamming"), "--baseline", "data.missing_rate=0", "--metric", "hamming"]
    assert report_main([*args, "--no-plots"]) == 0
    summary = read_csv_rows(tmp_path / "hamming" / "summary.csv")
    assert all(0.0 <= float(r["hamming_mean"]) <= 1.0 and 0.0 <= float(r["lrap_mean"]) <= 1.0 for r in summary)
    hidden, full = (only_row(summary, **{"data.missing_rate": v}) for v in ("0.5", "0"))
    gain = -(float(hidden["hamming_mean"]) - float(full["hamming_mean"])) / float(full["hamming_mean"]) * 100
    assert float(hidden["delta_m_hamming_pct"]) == pytest.approx(gain)

    # One job's folder disappears and another job loses its results.json: both are listed, not dropped.
    jobs = sorted(p for p in sweep.iterdir() if (p / ".hydra").is_dir())
    shutil.rmtree(jobs[0])
    (jobs[1] / "results.json").unlink()
    proc = run_cli([str(sweep), "--out", str(out), "--strict"], tmp_path, module="mtlkit.report")
    assert proc.returncode == 1
    assert "2 succeeded, 1 failed, 1 missing" in proc.stdout
    runs = read_csv_rows(out / "runs.csv")
    assert sorted(r["status"] for r in runs) == ["failed", "missing", "ok", "ok"]


@pytest.mark.slow
def test_a_job_that_fails_in_a_real_multirun_is_listed(tmp_path):
    from tests.conftest import TINY
    from tests.helpers import run_cli

    sweep = tmp_path / "sweep"
    proc = run_cli(["-m", "data.tasks=[car],[bus]", *TINY, f"hydra.sweep.dir={sweep}"], tmp_path)
    assert proc.returncode != 0 and "bus" in proc.stderr
    out = tmp_path / "report"
    proc = run_cli([str(sweep), "--out", str(out), "--no-plots"], tmp_path, module="mtlkit.report")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "1 succeeded, 1 failed, 0 missing" in proc.stdout
    failed = only_row(read_csv_rows(out / "runs.csv"), status="failed")
    assert failed["data.tasks"] == '["bus"]'
    assert failed["error"].startswith("job failed: ConfigError: data.tasks names unknown task(s) ['bus']")
