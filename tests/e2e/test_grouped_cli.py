"""approach=grouped through the command line: the commands the README shows, a run killed mid-epoch that resumes
exactly (a weighting inside each group included), and mtlkit-predict on a grouped run."""

from __future__ import annotations

import signal

import pytest

from tests.helpers import read_csv_rows, run_cli
from tests.helpers.subprocess_runs import SMALL, fault, results, run_dirs, train

pytestmark = pytest.mark.slow

GROUPS = "approach.groups=[[car,stop_sign,traffic_light],[pedestrian]]"
RUN = [*SMALL, "data.batch_size=32", "trainer.max_epochs=2", "trainer.deterministic=true", "logger=csv"]
RUN += ["callbacks.last_checkpoint.every_n_train_steps=3", "approach=grouped", GROUPS, "weighting=famo"]


def test_the_readme_commands_run_on_the_default_data(tmp_path):
    explicit = train([*SMALL, "trainer.max_epochs=1", "logger=csv", "approach=grouped", GROUPS], tmp_path / "a")
    assert explicit.returncode == 0, explicit.stderr[-3000:]
    res = results(run_dirs(tmp_path / "a")[0])
    assert res["groups"] == [["car", "stop_sign", "traffic_light"], ["pedestrian"]]
    auto = train(
        [*SMALL, "trainer.max_epochs=1", "logger=csv", "approach=grouped", "approach.groups=auto"], tmp_path / "b"
    )
    assert auto.returncode == 0, auto.stderr[-3000:]
    assert "groups=auto (k=2" in auto.stdout
    chosen = results(run_dirs(tmp_path / "b")[0])["groups"]
    line = "'approach.groups=[" + ",".join("[" + ",".join(g) + "]" for g in chosen) + "]'"
    assert line in auto.stdout.replace("\n", "")  # printed as typed, not eaten as rich markup
    run_dir = run_dirs(tmp_path / "b")[0]
    assert len(results(run_dir)["groups"]) == 2 and (run_dir / "affinity" / "affinity.png").is_file()

    out = tmp_path / "test.csv"
    proc = run_cli([str(run_dirs(tmp_path / "a")[0]), "--output", str(out)], tmp_path, module="mtlkit.cli.predict")
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = read_csv_rows(out)
    assert len(rows) == 128 and all(0 <= float(r["prob_pedestrian"]) <= 1 for r in rows)


def test_a_grouped_run_killed_mid_epoch_resumes_to_the_same_results(tmp_path):
    reference = train(RUN, tmp_path / "reference")
    assert reference.returncode == 0, reference.stderr[-3000:]
    killed = train([*RUN, *fault(11, "SIGKILL")], tmp_path / "killed")
    assert killed.returncode == -signal.SIGKILL
    run_dir = run_dirs(tmp_path / "killed")[0]
    resumed = train([f"resume={run_dir}"], tmp_path / "killed")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert results(run_dir)["metrics"] == results(run_dirs(tmp_path / "reference")[0])["metrics"]
