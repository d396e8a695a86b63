"""Round 2's C9 configs (experiments/conf/experiment/r2_c9/, experiments/plan.md "C9"): the two arms sweep the plan's
sizes and seeds, and agree on everything but data.tasks (same data, steps, validation, model, optimiser), with data.seed
fixed so that seed s of both arms sees the same images. Composition only (a few seconds), no training."""

from __future__ import annotations

import functools

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf, open_dict

from experiments.tests.conftest import SCRIPTS
from mtlkit.config import CONFIG_DIR
from mtlkit.report.collect import sweep_jobs

ARMS = {"r2_c9/pipeline": ["pedestrian", "car", "stop_sign", "traffic_light"], "r2_c9/end_to_end": ["stop"]}
SHARED = ("model", "optimizer", "scheduler", "trainer", "loss", "head", "callbacks", "weighting", "approach")


@functools.cache
def _compose(overrides: tuple[str, ...]):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=list(overrides), return_hydra_config=True)
    with open_dict(cfg):
        cfg.paths.output_dir = "/run"
    return cfg


def _jobs(part):
    return sweep_jobs(OmegaConf.to_container(_compose((f"experiment={part}",)).hydra.sweeper.params))


def _job(part, job):
    cfg = _compose((f"experiment={part}", *(f"{k}={v}" for k, v in job.items())))
    return {k: OmegaConf.to_container(cfg[k], resolve=True) for k in (*SHARED, "data")} | {"seed": cfg.seed}


@pytest.mark.parametrize("part", list(ARMS))
def test_each_arm_sweeps_the_plans_sizes_and_five_seeds(part):
    jobs = _jobs(part)
    assert len(jobs) == 20
    assert sorted({int(j["data.num_train"]) for j in jobs}) == [250, 1000, 4000, 16000]
    assert sorted({int(j["seed"]) for j in jobs}) == [0, 1, 2, 3, 4]
    assert {j["approach"] for j in jobs} == {"multitask"}


def test_the_arms_differ_only_in_their_tasks_and_data_seed_is_fixed():
    first, last = _jobs("r2_c9/pipeline")[0], _jobs("r2_c9/pipeline")[-1]
    configs = {(part, i): _job(part, job) for part in ARMS for i, job in enumerate((first, last))}
    for (part, _), cfg in configs.items():
        assert cfg["data"]["tasks"] == ARMS[part]
        assert cfg["data"]["derived"] == {"stop": "pedestrian or stop_sign"}
        assert (cfg["data"]["missing_rate"], cfg["data"]["num_val"], cfg["data"]["num_test"]) == (0.0, 1000, 2000)
        assert cfg["data"]["seed"] == 0  # fixed: not ${seed}
        t = cfg["trainer"]
        assert (t["max_steps"], t["max_epochs"], t["val_check_interval"], t["check_val_every_n_epoch"]) == (
            500,
            -1,
            50,
            None,
        )
        assert cfg["callbacks"]["early_stopping"] is None  # both arms train exactly max_steps
    for i in range(2):
        pipe, e2e = configs[("r2_c9/pipeline", i)], configs[("r2_c9/end_to_end", i)]
        assert {k: pipe[k] for k in SHARED} == {k: e2e[k] for k in SHARED}
        assert {k: v for k, v in pipe["data"].items() if k != "tasks"} == {
            k: v for k, v in e2e["data"].items() if k != "tasks"
        }
        assert pipe["seed"] == e2e["seed"]
    assert configs[("r2_c9/pipeline", 0)]["data"]["num_train"] != configs[("r2_c9/pipeline", 1)]["data"]["num_train"]


def test_the_driver_runs_both_arms_and_scores_the_pipeline_with_the_noisy_or_rule():
    driver = (SCRIPTS / "run_r2_c9.sh").read_text()
    assert "experiment=r2_c9/pipeline" in driver and "experiment=r2_c9/end_to_end" in driver
    assert 'stop="pedestrian or stop_sign"' in driver and "mtlkit.report.derived_score" in driver
