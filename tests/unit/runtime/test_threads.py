"""Jobs of a parallel sweep get cores // jobs torch threads; sequential sweeps and single runs are left alone."""

from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf

from mtlkit.runtime import threads
from mtlkit.runtime.threads import ThreadsPerJob, parallel_jobs, threads_per_job

JOBLIB = "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"
BASIC = "hydra._internal.core_plugins.basic_launcher.BasicLauncher"


def test_parallel_jobs_reads_joblibs_n_jobs():
    assert parallel_jobs({"_target_": JOBLIB, "n_jobs": 2}, cores=8) == 2
    assert parallel_jobs({"_target_": JOBLIB, "n_jobs": -1}, cores=8) == 8  # joblib: cores + 1 + n_jobs
    assert parallel_jobs({"_target_": JOBLIB, "n_jobs": -2}, cores=8) == 7
    assert parallel_jobs({"_target_": BASIC}, cores=8) == 1
    assert parallel_jobs(None, cores=8) == 1
    assert [threads_per_job(2, j) for j in (1, 2, 3)] == [2, 1, 1]
    assert threads_per_job(16, 3) == 5


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize(("target", "n_jobs", "fixed", "expected"), [(JOBLIB, 2, None, 2), (JOBLIB, 4, 3, 3)])
def test_a_parallel_job_gets_its_share_of_the_cores(
    monkeypatch, capsys, restore_threads, target, n_jobs, fixed, expected
):
    monkeypatch.setattr(threads, "available_cores", lambda: 4)
    torch.set_num_threads(4)
    config = OmegaConf.create({"hydra": {"launcher": {"_target_": target, "n_jobs": n_jobs}}, "seed": 0})
    ThreadsPerJob(fixed).on_job_start(config)
    assert torch.get_num_threads() == expected
    assert f"threads: {expected} per job" in capsys.readouterr().out


def test_a_sequential_job_keeps_the_default(monkeypatch, capsys, restore_threads):
    monkeypatch.setattr(threads, "available_cores", lambda: 4)
    torch.set_num_threads(3)
    ThreadsPerJob().on_job_start(OmegaConf.create({"hydra": {"launcher": {"_target_": BASIC}}}))
    assert torch.get_num_threads() == 3 and capsys.readouterr().out == ""


def test_the_callback_and_the_parallel_launcher_are_configured():
    from pathlib import Path

    from mtlkit.config import CONFIG_DIR

    hydra_cfg = OmegaConf.load(Path(CONFIG_DIR) / "hydra" / "default.yaml")
    assert hydra_cfg.callbacks.threads_per_job._target_ == "mtlkit.runtime.threads.ThreadsPerJob"
    launcher = OmegaConf.load(Path(CONFIG_DIR) / "hydra" / "launcher" / "parallel.yaml")
    assert launcher.defaults == ["joblib"] and launcher.n_jobs == 2
