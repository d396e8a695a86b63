"""Interrupted runs, for real: a process killed mid-epoch (SIGKILL) or asked to stop (SIGTERM) is resumed with
``resume=RUN_DIR`` and ends with exactly the metrics of an uninterrupted run; the same seed gives the same run."""

import signal

import pytest

from tests.helpers.subprocess_runs import SMALL, checkpoint_position, fault, results, run_dirs, train

pytestmark = pytest.mark.slow

# 8 steps per epoch, 3 epochs; last.ckpt every 3 steps (and at epoch ends).
RUN = [
    *SMALL,
    "data.batch_size=32",
    "trainer.max_epochs=3",
    "trainer.deterministic=true",
    "logger=csv",
    "callbacks.last_checkpoint.every_n_train_steps=3",
]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    log_dir = tmp_path_factory.mktemp("reference")
    proc = train(RUN, log_dir)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return results(run_dirs(log_dir)[0])


def test_same_seed_and_config_give_identical_results(reference, tmp_path):
    proc = train(RUN, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    again = results(run_dirs(tmp_path)[0])
    assert again["metrics"] == reference["metrics"]  # exactly, every task, metric and split
    assert again["global_steps"] == reference["global_steps"] == 24


def test_run_killed_mid_epoch_resumes_to_the_same_results(reference, tmp_path):
    killed = train([*RUN, *fault(11, "SIGKILL")], tmp_path)
    assert killed.returncode == -signal.SIGKILL
    run_dir = run_dirs(tmp_path)[0]
    assert not (run_dir / "results.json").exists()
    # the last checkpoint is mid-epoch: step 9 = epoch 1, 1 of its 8 batches done; steps 10 and 11 were lost
    assert checkpoint_position(run_dir) == (9, 1, 1)

    resumed = train([f"resume={run_dir}"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Continuing from" in resumed.stdout
    assert run_dirs(tmp_path) == [run_dir], "the resumed run continues in the same folder"
    res = results(run_dir)
    assert res["metrics"] == reference["metrics"]
    assert res["global_steps"] == 24
    assert f"resume={run_dir}" in res["overrides"] and "ckpt_path=last" in res["overrides"]


def test_sigterm_saves_a_checkpoint_at_the_current_step_and_resumes_to_the_same_results(reference, tmp_path):
    stopped = train([*RUN, *fault(13, "SIGTERM")], tmp_path)
    assert stopped.returncode == 128 + signal.SIGTERM, stopped.stderr[-3000:]
    run_dir = run_dirs(tmp_path)[0]
    assert "SIGTERM: saved" in stopped.stdout + stopped.stderr
    # not a multiple of 3: saved on SIGTERM, after the step that was running (epoch 1, 6 of 8 batches done)
    assert checkpoint_position(run_dir) == (14, 1, 6)

    resumed = train([f"resume={run_dir}"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert results(run_dir)["metrics"] == reference["metrics"]


def test_a_stateful_balancing_method_killed_mid_epoch_resumes_to_the_same_results(tmp_path):
    """FAMO keeps task logits and their optimizer's moments, and measures the losses again after every step: all
    of it is in last.ckpt, so the resumed run ends exactly like an uninterrupted one."""
    run = [*RUN, "weighting=famo"]
    reference = train(run, tmp_path / "reference")
    assert reference.returncode == 0, reference.stderr[-3000:]
    killed = train([*run, *fault(11, "SIGKILL")], tmp_path / "killed")
    assert killed.returncode == -signal.SIGKILL
    run_dir = run_dirs(tmp_path / "killed")[0]
    resumed = train([f"resume={run_dir}"], tmp_path / "killed")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert results(run_dir)["metrics"] == results(run_dirs(tmp_path / "reference")[0])["metrics"]
