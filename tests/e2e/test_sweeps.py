"""Sweeps: a failing job is recorded and does not stop the others, the summary still comes out; every job is its
own wandb run (offline), all in one group; the submitit launcher (SLURM's, run here with its local executor) runs
a sweep."""

import pytest

from tests.helpers.subprocess_runs import SMALL, results, run_dirs, train, wandb_runs

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def failed_sweep(tmp_path_factory):
    """A 2-job sweep logging to csv and wandb: job 0 crashes at its 2nd step (after its wandb run started); job 1
    never reaches step 1000."""
    log_dir = tmp_path_factory.mktemp("failed_sweep")
    args = [
        "-m",
        *SMALL,
        "data.batch_size=64",  # 4 steps
        "trainer.max_epochs=1",
        "logger=[csv,wandb]",
        "+callbacks.fault._target_=tests.helpers.fault_injection.RaiseAtStep",
        "+callbacks.fault.step=2,1000",
    ]
    return train(args, log_dir), log_dir


@pytest.mark.xdist_group("failed_sweep")  # pytest-xdist: the sweep runs once, on one worker
def test_failed_job_is_recorded_and_the_sweep_goes_on_in_one_wandb_group(failed_sweep):
    proc, log_dir = failed_sweep
    assert proc.returncode != 0, "a sweep with a failed job must not look successful"
    failed, done = run_dirs(log_dir)
    record = results(failed)
    assert record["status"] == "failed"
    assert record["error"]["type"] == "RuntimeError" and "injected failure at step 2" in record["error"]["message"]
    assert "+callbacks.fault.step=2" in record["overrides"]
    assert results(done)["status"] == "completed" and results(done)["global_steps"] == 4

    runs = wandb_runs(log_dir)
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


@pytest.mark.xdist_group("failed_sweep")
def test_a_sweep_with_a_failed_job_still_prints_and_writes_its_summary(failed_sweep):
    """After a multirun in which a job failed, the summary table and summary.csv come out all the same (Hydra skips
    its end-of-sweep callbacks then), the failed jobs marked, and one line says how many failed."""
    proc, log_dir = failed_sweep
    assert proc.returncode == 1
    failed, done = run_dirs(log_dir)
    assert "Multirun summary" in proc.stdout and "FAILED (RuntimeError)" in proc.stdout
    rows = (failed.parent / "summary.csv").read_text().splitlines()
    assert len(rows) == 3 and "FAILED (RuntimeError)" in rows[1] and "FAILED" not in rows[2]
    assert "mtlkit-train: error: 1 of 2 job(s) failed (0; see results.json" in proc.stderr
