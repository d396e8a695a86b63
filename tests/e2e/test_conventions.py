"""The conventions of lightning-hydra-template that mtlkit follows: ``debug=...`` configs and
``hparams_search=optuna`` (the train function returns the metric named by ``optimized_metric``)."""

from __future__ import annotations

import pytest
import yaml

from mtlkit.run import optimized_metric, train
from tests.conftest import TINY
from tests.helpers import compose_config
from tests.helpers.subprocess_runs import SMALL, results, run_dirs
from tests.helpers.subprocess_runs import train as train_cli


@pytest.mark.parametrize(
    "name, expected",
    [
        ("fdr", {"fast_dev_run": True}),
        ("overfit", {"overfit_batches": 3, "max_epochs": 20}),
        ("limit", {"limit_train_batches": 3, "limit_val_batches": 2, "max_epochs": 3}),
        ("profiler", {"profiler": "simple", "max_epochs": 1}),
    ],
)
def test_debug_configs_set_what_they_say(tmp_path, name, expected):
    cfg = compose_config([f"debug={name}"], tmp_path)
    assert {k: cfg.trainer[k] for k in expected} == expected
    assert cfg.task_name == "debug" and cfg.logger is None and cfg.trainer.detect_anomaly is True


def test_debug_fdr_runs_the_whole_pipeline(tmp_path):
    res = train(compose_config([*TINY, "debug=fdr"], tmp_path))
    assert res["status"] == "completed" and res["global_steps"] == 1
    assert (tmp_path / "results.json").is_file()


def test_the_optimized_metric_is_a_path_into_the_metrics(tmp_path):
    results = {"metrics": {"val": {"macro": {"auroc": 0.75, "ap": 0.5}}}}
    cfg = compose_config([], tmp_path)
    assert optimized_metric(cfg, results) == 0.75  # the default: val/macro/auroc
    cfg = compose_config(["+optimized_metric=val/macro/ap"], tmp_path)
    assert optimized_metric(cfg, results) == 0.5
    assert optimized_metric(compose_config(["+optimized_metric=test/macro/ap"], tmp_path), results) is None


@pytest.mark.slow
def test_hparams_search_optuna_searches_and_writes_the_best_parameters(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="pip install -e '.[optuna]'")
    proc = train_cli(
        [
            *(o for o in SMALL if not o.startswith("model.width=")),  # searched: not fixed on the command line
            "data.batch_size=64",
            "trainer.max_epochs=1",
            "logger=csv",
            "hparams_search=optuna",
            "hydra.sweeper.n_trials=2",
            "hydra.sweeper.sampler.n_startup_trials=2",
        ],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = run_dirs(tmp_path)
    assert len(jobs) == 2 and all(results(j)["status"] == "completed" for j in jobs)
    best = yaml.safe_load((jobs[0].parent / "optimization_results.yaml").read_text())
    assert set(best["best_params"]) == {"optimizer.lr", "model.width"}
    values = [results(j)["metrics"]["val"]["macro"]["auroc"] for j in jobs]
    assert best["best_value"] == pytest.approx(max(values))
