"""Sweeps: a failing job is recorded and does not stop the others; every job is its own wandb run (offline),
all in one group; the submitit launcher (SLURM's, run here with its local executor) runs a sweep."""

import pytest

from tests.helpers.subprocess_runs import SMALL, results, run_dirs, train, wandb_runs

pytestmark = pytest.mark.slow


def test_failed_job_is_recorded_and_the_sweep_goes_on_in_one_wandb_group(tmp_path):
    # job 0 crashes at its 2nd step (after its wandb run started); job 1 never reaches step 1000
    args = [
        "-m",
        *SMALL,
        "data.batch_size=64",  # 4 steps
        "trainer.max_epochs=1",
        "logger=wandb",
        "+callbacks.fault._target_=tests.helpers.fault_injection.RaiseAtStep",
        "+callbacks.fault.step=2,1000",
    ]
    proc = train(args, tmp_path)
    assert proc.returncode != 0, "a sweep with a failed job must not look successful"
    failed, done = run_dirs(tmp_path)
    record = results(failed)
    assert record["status"] == "failed"
    assert record["error"]["type"] == "RuntimeError" and "injected failure at step 2" in record["error"]["message"]
    assert "+callbacks.fault.step=2" in record["overrides"]
    assert results(done)["status"] == "completed" and results(done)["global_steps"] == 4

    runs = wandb_runs(tmp_path)
    assert len(runs) == 2 and runs[0]["id"] != runs[1]["id"], "each job logs into a wandb run of its own"
    assert {r["group"] for r in runs} == {failed.parent.name}, "one group per sweep, named after its folder"
    assert [r["exit_code"] for r in runs] == [1, 0], "the failed job's run is closed as failed"
    assert all(r["dir"].is_relative_to(d) for r, d in zip(runs, (failed, done)))
    assert "+callbacks.fault.step=1000" in runs[1]["name"]


def test_submitit_launcher_runs_a_sweep(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    proc = train(
        ["-m", *SMALL, "trainer.max_epochs=1", "logger=csv", "hydra/launcher=submitit_local", "seed=0,1"], tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = run_dirs(tmp_path)
    assert [results(j)["seed"] for j in jobs] == [0, 1]
    assert all(results(j)["status"] == "completed" for j in jobs)
    assert (jobs[0].parent / ".submitit").is_dir()
