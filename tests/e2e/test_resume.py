"""Interrupted runs, for real: a process killed mid-epoch (SIGKILL) or asked to stop (SIGTERM) is resumed with
``resume=RUN_DIR`` and ends with exactly the metrics of an uninterrupted run; the same seed gives the same run."""

import signal

import pytest

from mtlkit.runtime.folder_lock import LOCK_FILE
from tests.helpers.subprocess_runs import SMALL, checkpoint_position, fault, results, run_dirs, train

pytestmark = pytest.mark.slow
REFERENCE = pytest.mark.xdist_group("resume_reference")  # pytest-xdist: the tests of `reference` share a worker

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


@REFERENCE
def test_same_seed_and_config_give_identical_results(reference, tmp_path):
    proc = train(RUN, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    again = results(run_dirs(tmp_path)[0])
    assert again["metrics"] == reference["metrics"]  # exactly, every task, metric and split
    assert again["global_steps"] == reference["global_steps"] == 24


@REFERENCE
def test_run_killed_mid_epoch_resumes_to_the_same_results(reference, killed_then_resumed):
    story = killed_then_resumed
    assert story["killed"].returncode == -signal.SIGKILL
    run_dir = story["run_dir"]
    assert not story["had_results"]
    # the last checkpoint is mid-epoch: step 9 = epoch 1, 1 of its 8 batches done; steps 10 and 11 were lost
    assert story["position"] == (9, 1, 1)

    resumed = story["resumed"]
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Continuing from" in resumed.stdout
    assert run_dirs(story["log_dir"]) == [run_dir], "the resumed run continues in the same folder"
    res = results(run_dir)
    assert res["metrics"] == reference["metrics"]
    assert res["global_steps"] == 24
    assert f"resume={run_dir}" in res["overrides"] and "ckpt_path=last" in res["overrides"]


@REFERENCE
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


# -- a run folder is never clobbered --------------------------------------------------------------------------------
def _files(run_dir):
    """The run's files, without the run-folder lock: a killed run's stale lock is the lock's state, not the run's,
    and the next command takes it over (mtlkit.runtime.folder_lock)."""
    return {
        str(p.relative_to(run_dir)): p.read_bytes()
        for p in sorted(run_dir.rglob("*"))
        if p.is_file() and p.name != LOCK_FILE
    }


def _refused_in_one_line(proc):
    assert proc.returncode == 2, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("mtlkit-train: error: "), proc.stderr[-3000:]
    assert "nothing was changed" in errors[0]
    return errors[0]


def test_a_finished_run_is_changed_by_no_later_command_but_overwrite_true(tmp_path):
    run_dir = tmp_path / "run"
    cmd = [*SMALL, "data.batch_size=64", "trainer.max_epochs=1", "logger=csv", f"hydra.run.dir={run_dir}"]
    assert train(cmd, tmp_path).returncode == 0
    before = _files(run_dir)
    for extra in ([], ["model.width=16"], ["ckpt_path=null"]):
        _refused_in_one_line(train([*cmd, *extra], tmp_path))
        assert _files(run_dir) == before, extra
    for extra in ([], ["trainer.max_epochs=3"]):
        line = _refused_in_one_line(train([f"resume={run_dir}", *extra], tmp_path))
        assert "that run finished" in line
        assert _files(run_dir) == before, extra
    assert line.endswith("trainer.max_epochs=3") and "resume=" not in line.split("new folder):")[1]

    again = train([*cmd, "overwrite=true"], tmp_path)  # asked for explicitly: trained again from scratch
    assert again.returncode == 0, again.stderr[-3000:]
    assert "overwrite=true: emptied" in again.stderr
    assert results(run_dir)["status"] == "completed" and _files(run_dir) != before


@pytest.fixture(scope="module")
def killed_then_resumed(tmp_path_factory):
    """One run killed (SIGKILL) at step 11; then the commands that must be refused on its folder, each with the
    folder's files after it; then ``resume=``. The two tests of a killed run assert on this one story."""
    log_dir = tmp_path_factory.mktemp("killed")
    killed = train([*RUN, *fault(11, "SIGKILL")], log_dir)
    run_dir = run_dirs(log_dir)[0]
    story = {"log_dir": log_dir, "killed": killed, "run_dir": run_dir}
    story["had_results"] = (run_dir / "results.json").exists()
    story["position"] = checkpoint_position(run_dir)
    story["files"] = _files(run_dir)
    refused = {
        "training longer": [f"resume={run_dir}", "trainer.max_epochs=5"],
        "another model": [*RUN, *fault(11, "SIGKILL"), "model.width=16", f"hydra.run.dir={run_dir}"],
        "another schedule": [f"resume={run_dir}", "scheduler=cosine"],
    }
    story["refused"] = {name: (train(args, log_dir), _files(run_dir)) for name, args in refused.items()}
    story["longer"] = train(refused["training longer"], log_dir)
    # refused after Hydra wrote .hydra/ (a check in the task itself): what it wrote is put back
    story["late"] = (train([f"resume={run_dir}", "+trainer.strategy=ddp_spawn"], log_dir), _files(run_dir))
    story["resumed"] = train([f"resume={run_dir}"], log_dir)
    return story


@REFERENCE
def test_an_interrupted_run_refuses_other_configurations_unchanged_then_resumes(reference, killed_then_resumed):
    story = killed_then_resumed
    assert story["killed"].returncode == -signal.SIGKILL
    before = story["files"]
    for name, (proc, files) in story["refused"].items():
        line = _refused_in_one_line(proc)
        assert files == before, name
    assert "trainer.max_epochs: 3 in the checkpoint" not in line
    longer = _refused_in_one_line(story["longer"])
    assert "trainer.max_epochs: 3 in the checkpoint, 5 now" in longer and "start a new run" in longer

    late, files = story["late"]
    assert late.returncode == 2 and "ddp_spawn" in late.stderr and "Traceback" not in late.stderr
    assert files == before

    resumed = story["resumed"]
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert results(story["run_dir"])["metrics"] == reference["metrics"]


@REFERENCE
def test_ctrl_c_prints_the_resume_hint_and_the_run_resumes_to_the_same_results(reference, tmp_path):
    stopped = train([*RUN, *fault(11, "SIGINT")], tmp_path)
    assert stopped.returncode == 128 + signal.SIGINT, stopped.stderr[-3000:]
    run_dir = run_dirs(tmp_path)[0]
    out = stopped.stdout + stopped.stderr
    # the last periodic checkpoint (step 9) is where the resumed run starts; Ctrl-C itself saves nothing mid-step
    assert f"Ctrl-C: stopped at step 11; {run_dir / 'checkpoints' / 'last.ckpt'} holds step 9" in out
    assert f"mtlkit-train resume={run_dir}" in out and "Traceback" not in out
    resumed = train([f"resume={run_dir}"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert results(run_dir)["metrics"] == reference["metrics"]


def test_training_a_finished_run_longer_without_a_schedule_equals_a_longer_run(tmp_path):
    constant = [*RUN, "scheduler=none"]  # RUN trains 3 epochs
    straight = train(constant, tmp_path / "straight")
    assert straight.returncode == 0, straight.stderr[-3000:]
    short = train([*constant, "trainer.max_epochs=1"], tmp_path / "longer")
    assert short.returncode == 0, short.stderr[-3000:]
    run_dir = run_dirs(tmp_path / "longer")[0]
    longer = train([f"resume={run_dir}", "trainer.max_epochs=3"], tmp_path / "longer")
    assert longer.returncode == 0, longer.stderr[-3000:]
    assert results(run_dir)["global_steps"] == 24
    assert results(run_dir)["metrics"] == results(run_dirs(tmp_path / "straight")[0])["metrics"]
