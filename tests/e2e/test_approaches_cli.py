"""Every approach and fine-tuning strategy from the real command line, writing results.json with the same keys."""

from __future__ import annotations

import csv
import json

import pytest

from tests.conftest import TINY, TINY_SOURCE
from tests.helpers import results_files, run_cli

pytestmark = pytest.mark.slow
TASKS = ["pedestrian", "car", "stop_sign", "traffic_light"]


def _metric_keys(res: dict) -> dict:
    """The per-task metric keys of a results.json: {split: {task: sorted metric names}}."""
    return {s: {t: sorted(row) for t, row in m["per_task"].items()} for s, m in res["metrics"].items()}


def _jobs(log_dir) -> dict[str, dict]:
    out = {}
    for f in results_files(log_dir):
        res = json.loads(f.read_text())
        out[" ".join(res["overrides"])] = res | {"_dir": f.parent}
    return out


def test_multirun_compares_all_approaches_with_the_same_metric_keys(tmp_path):
    source = [f"++{o}" for o in TINY_SOURCE]  # keys of approach=transfer: set there, added (unused) elsewhere
    proc = run_cli(["-m", "approach=multitask,separate,transfer", *TINY, *source], tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = {res["approach"]: res for res in _jobs(tmp_path).values()}
    assert set(jobs) == {"multitask", "separate", "transfer"}
    keys = _metric_keys(jobs["multitask"])
    assert set(keys["test"]) == set(TASKS) and set(keys) == {"val", "test"}
    for res in jobs.values():
        assert _metric_keys(res) == keys and res["tasks"] == TASKS
        assert res["metrics"]["test"]["macro"]["auroc"] is not None
        assert res["parameters"]["trainable"] > 0 and "trainable_pct" in res["parameters"]
    assert jobs["separate"]["parameters"]["total"] == 4 * jobs["multitask"]["parameters"]["total"] - 3 * 4 * 9
    assert jobs["separate"]["parameters"]["networks"] == 4
    assert (jobs["transfer"]["_dir"] / "pretrain" / "checkpoints").is_dir()
    # the comparison table at the end of the multirun, and its CSV
    assert "Multirun summary" in proc.stdout and "approach=separate" in proc.stdout
    summary = next(tmp_path.rglob("summary.csv"))
    rows = list(csv.DictReader(summary.open()))
    assert [r["overrides"] for r in rows] == ["approach=multitask", "approach=separate", "approach=transfer"]
    assert all(0 <= float(r["test auroc"]) <= 1 for r in rows)


def test_every_finetune_strategy_runs_from_the_cli(tmp_path):
    strategies = ["head_only", "last_k", "full", "gradual", "lp_ft"]
    args = ["-m", "approach=transfer", f"finetune={','.join(strategies)}", *TINY, *TINY_SOURCE]
    args += ["trainer.max_epochs=3"]  # gradual's unfreeze_epoch and lp_ft's probe_epochs (2) fall inside it
    proc = run_cli(args, tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = {res["finetune"]["strategy"]: res for res in _jobs(tmp_path).values()}
    assert set(jobs) == set(strategies)
    keys = _metric_keys(jobs["full"])
    trainable = {}
    for name, res in jobs.items():
        assert _metric_keys(res) == keys, name
        assert res["transfer"]["source"]["pretrained_here"] and (res["_dir"] / "finetune").is_dir()
        trainable[name] = res["finetune"]["phases"][0]["parameters"]["trainable"]
    total = jobs["full"]["parameters"]["total"]
    heads = jobs["full"]["parameters"]["parts"]["heads"]["total"]
    assert trainable["head_only"] == heads == trainable["gradual"] == trainable["lp_ft"]
    assert heads < trainable["last_k"] < trainable["full"] == total
    assert jobs["gradual"]["parameters"]["trainable"] == jobs["lp_ft"]["parameters"]["trainable"] == total
    assert (jobs["lp_ft"]["_dir"] / "probe").is_dir()
    assert "trainable" in proc.stdout and "%" in proc.stdout


def test_finetune_and_transfer_keys_exist_only_under_transfer(tmp_path):
    from tests.helpers import compose_config

    plain = compose_config([], tmp_path)
    assert "finetune" not in plain and "transfer" not in plain and "source" not in plain
    assert compose_config(["approach=transfer"], tmp_path).finetune.strategy == "full"
    lp_ft = compose_config(["approach=transfer", "finetune=lp_ft"], tmp_path).finetune
    assert lp_ft.strategy == "lp_ft" and lp_ft.probe_epochs == 2 and "k" not in lp_ft  # each strategy its own options
    proc = run_cli([*TINY, "finetune=head_only", "trainer.fast_dev_run=true"], tmp_path)
    assert proc.returncode == 2 and not results_files(tmp_path)
    assert proc.stderr.strip().endswith(
        "finetune=head_only: the finetune group comes only with approach=transfer; add approach=transfer"
    )


def test_single_task_run_through_the_cli(tmp_path):
    proc = run_cli([*TINY, "data.tasks=[car]"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (file,) = results_files(tmp_path)
    res = json.loads(file.read_text())
    assert res["tasks"] == ["car"]
    assert set(res["metrics"]["test"]["per_task"]) == {"car"} and set(res["label_counts"]["train"]) == {"car"}
    assert res["metrics"]["test"]["macro"]["auroc"] == res["metrics"]["test"]["per_task"]["car"]["auroc"]
    assert res["parameters"]["parts"]["heads"]["total"] == 8 + 1


def test_transfer_cli_to_a_single_target_task_from_a_separate_run(tiny_checkpoints, tmp_path):
    args = [*TINY, "approach=transfer", "finetune=last_k", "data.tasks=[stop_sign]"]
    args += [f"transfer.checkpoint={tiny_checkpoints['separate']}", "transfer.task=car"]
    proc = run_cli(args, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (file,) = results_files(tmp_path)
    res = json.loads(file.read_text())
    assert res["tasks"] == ["stop_sign"] and res["transfer"]["task"] == "car"
    assert "network of task 'car'" in proc.stdout


def test_cli_mismatch_error_is_one_clear_message(tiny_checkpoints, tmp_path):
    args = [*TINY, "approach=transfer", f"transfer.checkpoint={tiny_checkpoints['multitask']}", "model.width=16"]
    proc = run_cli(args, tmp_path)
    assert proc.returncode != 0
    assert "does not fit the configured one" in proc.stderr and "model.width=8" in proc.stderr
    assert not results_files(tmp_path)


FIX = "set data.channels=1 or source.channels=3"


def test_transfer_cli_refuses_a_channel_mismatch_and_an_empty_checkpoint_before_any_data(tmp_path):
    proc = run_cli([*TINY, *TINY_SOURCE, "approach=transfer", "source.channels=1"], tmp_path)
    assert proc.returncode == 2
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("mtlkit-train: error: approach=transfer: the source data (driving) has inputs [1, 16, 16]")
    assert line.endswith("(1 vs 3 channels); the backbone pre-trained on one cannot take the other: " + FIX)
    assert "Labels of data set" not in proc.stdout  # no data built, let alone pre-trained
    proc = run_cli([*TINY, "approach=transfer", "transfer.checkpoint="], tmp_path)
    assert proc.returncode == 2 and "transfer.checkpoint is empty" in proc.stderr
    assert not results_files(tmp_path) and not list(tmp_path.rglob("pretrain"))
