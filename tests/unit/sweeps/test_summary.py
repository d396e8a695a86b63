"""The table printed at the end of a multirun: one row per job, failed jobs listed, varying overrides only."""

import csv
import json

from mtlkit.sweeps.summary import print_summary


def _job(sweep, num, overrides, auroc, params=100):
    d = sweep / str(num)
    d.mkdir(parents=True)
    res = {
        "overrides": overrides,
        "metrics": {s: {"macro": {"auroc": auroc, "ap": auroc and auroc / 2}} for s in ("val", "test")},
        "parameters": {"total": params, "trainable_pct": 50.0},
        "timings": {"total_s": 1.5},
    }
    (d / "results.json").write_text(json.dumps(res))


def test_summary_lists_every_job_in_order_with_the_overrides_that_vary(tmp_path, capsys):
    _job(tmp_path, 0, ["approach=multitask", "seed=0"], 0.9)
    _job(tmp_path, 10, ["approach=separate", "seed=0"], None, params=400)  # undefined AUROC stays n/a, not 0
    _job(tmp_path, 2, ["approach=transfer", "seed=0"], 0.8)
    (tmp_path / "3").mkdir()  # a job that wrote nothing
    (tmp_path / ".hydra").mkdir()
    rows = print_summary(tmp_path)
    assert [r["job"] for r in rows] == ["0", "2", "3", "10"]
    assert [r["overrides"] for r in rows] == [
        "approach=multitask",
        "approach=transfer",
        "no results.json (failed or still running)",
        "approach=separate",
    ]
    out = capsys.readouterr().out
    assert "Multirun summary" in out and "n/a" in out and "0.900" in out and "400" in out
    saved = list(csv.DictReader((tmp_path / "summary.csv").open()))
    assert len(saved) == 4 and saved[0]["test auroc"] == "0.9" and saved[3]["params"] == "400"


def test_summary_finds_jobs_in_named_sub_folders(tmp_path):
    """hydra.sweep.subdir=seed_${seed} (the experiments' pre-training parts): the jobs are still listed."""
    _job(tmp_path, "seed_1", ["seed=1"], 0.7)
    _job(tmp_path, "seed_0", ["seed=0"], 0.6)
    (tmp_path / "seed_2" / ".hydra").mkdir(parents=True)  # a job that started and wrote nothing else
    (tmp_path / "report").mkdir()  # not a job: mtlkit-report's output folder
    rows = print_summary(tmp_path)
    assert [r["job"] for r in rows] == ["seed_0", "seed_1", "seed_2"]
    assert rows[0]["overrides"] == "seed=0" and rows[2]["overrides"].startswith("no results.json")
