"""The experiment configs (conf/experiment/*.yaml): each composes, and sweeps at least 3 seeds."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from mtlkit.config import CONFIG_DIR
from mtlkit.report.collect import canonical, sweep_jobs

EXPERIMENTS = sorted(p.stem for p in (Path(CONFIG_DIR) / "experiment").glob("*.yaml"))


def _compose(overrides: list[str]):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose(config_name="train", overrides=overrides, return_hydra_config=True)


def _jobs(name: str) -> list[dict]:
    cfg = _compose([f"experiment={name}"])
    return sweep_jobs(OmegaConf.to_container(cfg.hydra.sweeper.params) or {})


def test_there_are_experiments():
    assert "c1_partial_labels" in EXPERIMENTS


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_sweeps_at_least_three_seeds_and_its_jobs_compose(name):
    jobs = _jobs(name)
    if "pretrain" not in name:
        assert len({canonical(j.get("seed")) for j in jobs}) >= 3, f"{name} sweeps fewer than 3 seeds"
    for job in (jobs[0], jobs[-1]):
        cfg = _compose([f"experiment={name}", *(f"{k}={v}" for k, v in job.items())])
        assert cfg.seed == job.get("seed", cfg.seed)


def test_c1_sweeps_missing_rate_by_loss_by_seed():
    jobs = _jobs("c1_partial_labels")
    assert len(jobs) == 5 * 2 * 3
    assert sorted({j["data.missing_rate"] for j in jobs}) == [0, 0.25, 0.5, 0.75, 0.9]
    assert {j["loss.unknown"] for j in jobs} == {"ignore", "negative"}
    cfg = _compose(["experiment=c1_partial_labels", "seed=2"])
    assert cfg.data.seed == 2 and cfg.data.num_train == 5000 and cfg.trainer.max_epochs == 6
    assert cfg.data.hide_splits == ["train"]  # val and test keep every label
    assert "csv" in cfg.logger and cfg.callbacks.rich_progress_bar is None
