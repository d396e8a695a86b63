"""DDP on 2 CPU processes (gloo) means the same as 1 process with the same global batch: losses and metrics.

DDP runs as a subprocess (``trainer=ddp_cpu`` re-launches the command line), never inside pytest.
"""

import math
import signal

import pytest

from tests.helpers.subprocess_runs import (
    SMALL,
    checkpoint_position,
    fault,
    logged,
    results,
    run_dirs,
    train,
    wandb_runs,
)

pytestmark = pytest.mark.slow
# Under pytest-xdist (--dist loadgroup) the tests of one module-scoped fixture share a worker, so it trains once.
SWEEP = pytest.mark.xdist_group("ddp_sweep")

# An uneven split (249 = 3 x 64 + 57: the last global batch is shared 29/28), per-label normalisation (whose
# divisor differs between the shares) and a task labelled in 3% of the training examples, so most shares hold
# none of its labels: everything that could make the processes disagree with one process.
EQUIVALENCE = [
    *SMALL,
    "data.num_train=249",
    "data.num_val=101",
    "model=mlp",  # no BatchNorm: torch's SyncBatchNorm does not run on CPU
    "model.width=32",
    "trainer.max_epochs=2",
    "trainer.log_every_n_steps=1",
    "loss.normalization=labels",
    "data.missing_rate=[0.5,0.5,0.5,0.97]",
]


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    log_dir = tmp_path_factory.mktemp("single")
    proc = train([*EQUIVALENCE, "logger=csv", "data.batch_size=64"], log_dir)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return run_dirs(log_dir)[0]


@pytest.fixture(scope="module")
def ddp_sweep(tmp_path_factory):
    """A 2-job multirun on 2 processes each: job 0 is the equivalence config, job 1 the default CNN."""
    log_dir = tmp_path_factory.mktemp("ddp")
    args = ["-m", *EQUIVALENCE, "trainer=ddp_cpu", "data.batch_size=32", "logger=[csv,wandb]", "model=mlp,cnn"]
    proc = train(args, log_dir, timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return log_dir


@SWEEP
def test_two_processes_train_exactly_like_one_with_the_same_global_batch(single, ddp_sweep):
    ddp = run_dirs(ddp_sweep)[0]
    assert results(ddp)["environment"]["devices"] == 2 and results(single)["environment"]["devices"] == 1
    one_losses, ddp_losses = logged(single, "train/loss_step"), logged(ddp, "train/loss_step")
    assert len(one_losses) == len(ddp_losses) == 8  # 4 global batches per epoch, 2 epochs
    assert ddp_losses == pytest.approx(one_losses, rel=1e-4, abs=1e-5)
    assert logged(ddp, "val/loss") == pytest.approx(logged(single, "val/loss"), rel=1e-4)
    for split in ("val", "test"):
        a, b = results(single)["metrics"][split], results(ddp)["metrics"][split]
        for task, row in a["per_task"].items():
            # every example scored exactly once: no padding duplicates under DDP
            assert b["per_task"][task]["n_labelled"] == row["n_labelled"] == (101 if split == "val" else 128)
            for metric in ("auroc", "ap", "acc", "f1"):
                assert b["per_task"][task][metric] == pytest.approx(row[metric], abs=1e-4), (split, task, metric)
        for metric in ("hamming", "lrap", "ranking_loss", "one_error", "coverage", "micro_f1", "macro_f1"):
            assert b["example_based"][metric] == pytest.approx(a["example_based"][metric], abs=1e-4), (split, metric)
        assert b["example_based"]["left_out_examples"] == a["example_based"]["left_out_examples"]


@SWEEP
def test_ddp_multirun_writes_one_sweep_with_every_job(ddp_sweep):
    sweeps = list((ddp_sweep / "train" / "multiruns").iterdir())
    assert len(sweeps) == 1, "the re-launched processes must write into the same sweep folder"
    jobs = run_dirs(ddp_sweep)
    assert [j.name for j in jobs] == ["0", "1"]
    for job in jobs:
        res = results(job)
        assert res["status"] == "completed" and res["environment"]["devices"] == 2
        assert not math.isnan(res["metrics"]["test"]["macro"]["auroc"])
    assert "model=cnn" in results(jobs[1])["overrides"]  # a BatchNorm backbone under DDP too
    runs = wandb_runs(ddp_sweep)
    assert len(runs) == 2, "one wandb run per job, from rank 0 only"
    assert {r["group"] for r in runs} == {sweeps[0].name}
    assert all(r["exit_code"] == 0 for r in runs)


@SWEEP
def test_sigterm_stops_every_process_at_one_step_and_the_resumed_run_ends_the_same(ddp_sweep, tmp_path):
    # `kill` of the command started (rank 0) at the start of step 6 of 8 (epoch 1): every process finishes that
    # step, saves at the same step and stops
    args = [*EQUIVALENCE, "trainer=ddp_cpu", "data.batch_size=32", "logger=csv", "model=mlp"]
    stopped = train([*args, *fault(5, "SIGTERM")], tmp_path)
    assert stopped.returncode == 128 + signal.SIGTERM, stopped.stderr[-3000:]
    run_dir = run_dirs(tmp_path)[0]
    assert checkpoint_position(run_dir) == (6, 1, 2)
    resumed = train([f"resume={run_dir}"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    expected = results(run_dirs(ddp_sweep)[0])["metrics"]
    for split in ("val", "test"):
        assert results(run_dir)["metrics"][split]["macro"] == pytest.approx(expected[split]["macro"], abs=1e-6)


# Transfer pre-trains on a tiny source with an MLP too, so that both stages run under DDP.
TRANSFER = [
    "approach=transfer",
    "finetune=last_k",
    "source.num_train=128",
    "source.num_val=64",
    "source.num_test=64",
    "source.image_size=16",
    "source.grid=2",
    "transfer.pretrain.max_epochs=1",
]


GROUPED = ["approach=grouped", "approach.groups=[[car,stop_sign],[pedestrian,traffic_light]]", "weighting=famo"]


@pytest.mark.parametrize(
    "approach", [["approach=separate"], TRANSFER, GROUPED], ids=["separate", "transfer", "grouped_famo"]
)
def test_separate_and_transfer_under_ddp_equal_one_process(tmp_path, approach):
    """Each separate network (and each group) keeps its own (global) divisor under DDP, a weighting inside each
    group sees the global losses; transfer's two fits both run sharded."""
    one_dir, ddp_dir = tmp_path / "one", tmp_path / "ddp"
    one = train([*EQUIVALENCE, *approach, "logger=csv", "data.batch_size=64"], one_dir)
    assert one.returncode == 0, one.stderr[-3000:]
    ddp = train([*EQUIVALENCE, *approach, "logger=csv", "trainer=ddp_cpu", "data.batch_size=32"], ddp_dir, timeout=400)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    a, b = results(run_dirs(one_dir)[0]), results(run_dirs(ddp_dir)[0])
    assert a["approach"] == b["approach"] == approach[0].split("=")[1]
    assert b["environment"]["devices"] == 2
    for split in ("val", "test"):
        for task, row in a["metrics"][split]["per_task"].items():
            other = b["metrics"][split]["per_task"][task]
            assert other["n_labelled"] == row["n_labelled"]
            for metric in ("auroc", "ap"):
                assert other[metric] == pytest.approx(row[metric], abs=1e-3), (split, task, metric)


def test_a_gradient_method_under_ddp_equals_one_process(tmp_path):
    """A gradient method aggregates the Jacobian of the global batch (the processes' Jacobians are averaged first),
    so 2 processes train exactly like one, although the aggregation is not linear (tests/helpers/weightings.py)."""
    method = ["weighting._target_=tests.helpers.weightings.UnitNormMean"]
    one_dir, ddp_dir = tmp_path / "one", tmp_path / "ddp"
    one = train([*EQUIVALENCE, *method, "logger=csv", "data.batch_size=64"], one_dir)
    assert one.returncode == 0, one.stderr[-3000:]
    ddp = train([*EQUIVALENCE, *method, "logger=csv", "trainer=ddp_cpu", "data.batch_size=32"], ddp_dir, timeout=400)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    a, b = run_dirs(one_dir)[0], run_dirs(ddp_dir)[0]
    assert results(b)["environment"]["devices"] == 2
    assert len(logged(a, "train/loss_step")) == 8
    assert logged(b, "train/loss_step") == pytest.approx(logged(a, "train/loss_step"), rel=1e-4, abs=1e-5)
    for split in ("val", "test"):
        for task, row in results(a)["metrics"][split]["per_task"].items():
            for metric in ("auroc", "ap"):
                assert results(b)["metrics"][split]["per_task"][task][metric] == pytest.approx(row[metric], abs=1e-4)


BALANCING = ["famo", "uw", "upgrad", "pcgrad"]  # stateful loss weightings and gradient aggregators


@pytest.fixture(scope="module")
def balancing_runs(tmp_path_factory):
    """One multirun per launch, a job per method: 1 process with batches of 64, 2 processes with 32 each."""
    one_dir, ddp_dir = tmp_path_factory.mktemp("balancing_one"), tmp_path_factory.mktemp("balancing_ddp")
    sweep = [*EQUIVALENCE, "logger=csv", f"weighting={','.join(BALANCING)}"]
    one = train(["-m", *sweep, "data.batch_size=64"], one_dir, timeout=400)
    assert one.returncode == 0, one.stderr[-3000:]
    ddp = train(["-m", *sweep, "trainer=ddp_cpu", "data.batch_size=32"], ddp_dir, timeout=600)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    return run_dirs(one_dir), run_dirs(ddp_dir)


@pytest.mark.xdist_group("ddp_balancing")
@pytest.mark.parametrize("job, method", list(enumerate(BALANCING)))
def test_balancing_methods_under_ddp_equal_one_process(balancing_runs, job, method):
    """Weights from global losses, Jacobians of the global batch: N processes train like one, method by method."""
    a, b = balancing_runs[0][job], balancing_runs[1][job]
    assert f"weighting={method}" in results(a)["overrides"] and f"weighting={method}" in results(b)["overrides"]
    assert results(b)["environment"]["devices"] == 2
    assert logged(b, "train/loss_step") == pytest.approx(logged(a, "train/loss_step"), rel=1e-4, abs=1e-5)
    for split in ("val", "test"):
        for task, row in results(a)["metrics"][split]["per_task"].items():
            for metric in ("auroc", "ap"):
                assert results(b)["metrics"][split]["per_task"][task][metric] == pytest.approx(row[metric], abs=1e-4)
