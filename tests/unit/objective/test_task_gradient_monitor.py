"""The task-gradient monitor: norms and cosines against a hand computation, absent tasks left out, when it measures,
its state across a resume, and that switching it on changes nothing that is trained."""

from __future__ import annotations

import copy
import json
import math
from functools import partial

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.functional import binary_cross_entropy_with_logits

from mtlkit.models.module import MultiTaskModule
from mtlkit.objective import task_losses
from mtlkit.objective.task_gradient_monitor import MAX_PAIR_TASKS, Measurement, TaskGradientMonitor, gradient_geometry
from mtlkit.run import train
from mtlkit.runtime.checkpoints import load_checkpoint
from tests.conftest import TINY
from tests.helpers import compose_config
from tests.helpers.weightings import LearnedScales

TASKS = ["a", "b", "c"]
GRADIENT = [
    "weighting._target_=tests.helpers.weightings.UnitNormMean",
    "model=mlp",
    "model.width=16",
    "callbacks.early_stopping=null",
]


class Tiny(nn.Module):
    """A linear backbone with two features (the shared parameters: 3 x 2 weights and 2 biases)."""

    feature_dim = 2

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.linear(x))


def _module() -> MultiTaskModule:
    torch.manual_seed(0)
    return MultiTaskModule(Tiny(), TASKS, optimizer=partial(torch.optim.SGD, lr=0.1))


def _batch(mask: torch.Tensor) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    m = len(mask)
    y = (torch.rand(m, len(TASKS), generator=gen) < 0.5).float() * mask
    return {"x": torch.randn(m, 3, generator=gen), "y": y, "mask": mask}


def _by_hand(module: MultiTaskModule, batch: dict[str, torch.Tensor]) -> tuple[np.ndarray, np.ndarray]:
    """Each task's loss (seed formula: its masked BCE summed over the batch / m) backpropagated on its own through a
    copy of the module; norms and cosines of the backbone gradients in float64."""
    rows = []
    for j in range(len(TASKS)):
        net = copy.deepcopy(module)
        z = net(batch["x"])[:, j]
        loss = (binary_cross_entropy_with_logits(z, batch["y"][:, j], reduction="none") * batch["mask"][:, j]).sum()
        (loss / len(z)).backward()
        rows.append(np.concatenate([p.grad.double().numpy().ravel() for p in net.backbone.parameters()]))
    g = np.stack(rows)
    norms = np.linalg.norm(g, axis=1)
    return norms, (g @ g.T) / np.outer(norms, norms)


def test_norms_and_cosines_equal_a_hand_computation_on_a_tiny_module():
    module = _module()
    batch = _batch(torch.ones(16, 3, dtype=torch.bool))
    monitor = TaskGradientMonitor(TASKS, log_every=1)
    m = monitor.measure(module.task_losses(batch), None)
    norms, cosines = _by_hand(module, batch)
    np.testing.assert_allclose(m.norms.numpy(), norms, rtol=1e-5)
    np.testing.assert_allclose(m.cosines.numpy(), cosines, rtol=1e-4, atol=1e-6)
    assert torch.equal(m.weights, torch.ones(3, dtype=torch.float64))  # equal weighting: ones
    assert all(p.grad is None for p in module.parameters())  # nothing touched .grad
    scalars = monitor.scalars(m)
    assert scalars["train/grad_cos/a~c"] == pytest.approx(cosines[0, 2], rel=1e-4, abs=1e-6)
    assert scalars["train/grad_norm/b"] == pytest.approx(norms[1], rel=1e-5)
    assert scalars["train/weight/c"] == 1.0 and "train/grad_cos/c~a" not in scalars
    record = monitor.record()["task_gradients"]
    assert record["measurements"] == 1 and record["tasks"] == TASKS
    np.testing.assert_allclose(np.array(record["cosine_mean"]), cosines, rtol=1e-4, atol=1e-6)


def test_cosines_and_norms_of_known_gradients():
    """Gradients (3, 4), (-4, 3), (-6, -8) and 0: cosines 0 and -1, a zero gradient has no direction (NaN)."""
    jac = torch.tensor([[3.0, 4.0], [-4.0, 3.0], [-6.0, -8.0], [0.0, 0.0]])
    norms, cos = gradient_geometry(jac, torch.ones(4, dtype=torch.bool))
    assert norms.tolist() == [5.0, 5.0, 10.0, 0.0]
    assert cos[0, 1] == 0.0 and cos[0, 2] == -1.0 and cos[1, 2] == 0.0 and cos[0, 0] == 1.0
    assert torch.isnan(cos[3]).all() and torch.isnan(cos[:, 3]).all()


def test_over_max_pair_tasks_only_summaries_are_logged():
    """617 tasks would log 190,000 pair cosines (and 1,234 norms and weights) per measurement: over MAX_PAIR_TASKS
    the logger gets summaries (over the defined values), results.json keeps every mean."""
    t = MAX_PAIR_TASKS + 1
    tasks = [f"t{i}" for i in range(t)]
    jac = torch.randn(t, 7, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    present = torch.ones(t, dtype=torch.bool)
    present[3] = False
    norms, cosines = gradient_geometry(jac, present)
    weights = torch.linspace(0.5, 2.0, t, dtype=torch.float64)
    m = Measurement(step=0, weights=weights, norms=norms, cosines=cosines)
    scalars = TaskGradientMonitor(tasks).scalars(m)
    assert not any("/t" in k for k in scalars)  # no per-task or per-pair key
    ok = np.array([i != 3 for i in range(t)])
    pairs = np.array([cosines[i, j].item() for i in range(t) for j in range(i + 1, t) if ok[i] and ok[j]])
    assert scalars["train/grad_cos_mean"] == pytest.approx(pairs.mean())
    assert scalars["train/grad_cos_min"] == pytest.approx(pairs.min())
    assert scalars["train/grad_conflict"] == pytest.approx((pairs < 0).mean())
    defined = norms.numpy()[ok]
    assert scalars["train/grad_norm_min"] == pytest.approx(defined.min())
    assert scalars["train/grad_norm_mean"] == pytest.approx(defined.mean())
    assert scalars["train/grad_norm_max"] == pytest.approx(defined.max())
    assert scalars["train/weight_min"] == 0.5 and scalars["train/weight_max"] == 2.0
    small = TaskGradientMonitor(tasks[:MAX_PAIR_TASKS]).scalars(
        Measurement(0, weights[:-1], norms[:-1], cosines[:-1, :-1])
    )
    assert small["train/grad_cos/t0~t1"] == cosines[0, 1].item() and "train/grad_cos/t0~t3" not in small
    assert small["train/grad_norm/t0"] == norms[0].item() and small["train/weight/t1"] == weights[1].item()
    assert "train/grad_cos_mean" in small and "train/weight_min" not in small


def test_over_max_pair_tasks_the_default_measures_gradients_only_where_they_are_free():
    """Per-epoch default, many tasks, a loss weighting: the weights are recorded, no Jacobian is computed (T
    backward passes); log_every set, or a Jacobian already computed by a gradient method: measured."""
    tasks = [f"t{i}" for i in range(MAX_PAIR_TASKS + 1)]
    torch.manual_seed(0)
    module = MultiTaskModule(Tiny(), tasks, optimizer=partial(torch.optim.SGD, lr=0.1))
    gen = torch.Generator().manual_seed(1)
    batch = {
        "x": torch.randn(8, 3, generator=gen),
        "y": (torch.rand(8, len(tasks), generator=gen) < 0.5).float(),
        "mask": torch.ones(8, len(tasks), dtype=torch.bool),
    }
    default = TaskGradientMonitor(tasks)
    losses = module.task_losses(batch)
    m = default.measure(losses, None)
    assert m.norms is None and losses._jacobian is None and default.measurements == 0
    assert default.record()["task_weights"]["weights"] == [[1.0] * len(tasks)]
    assert TaskGradientMonitor(tasks, log_every=1).measure(losses, None).norms is not None
    losses.jacobian()  # as a gradient method's step leaves it
    assert TaskGradientMonitor(tasks).measure(losses, None).norms is not None
    fresh = module.task_losses(batch)  # no Jacobian yet: up to MAX_PAIR_TASKS tasks the default measures
    assert TaskGradientMonitor(tasks[:MAX_PAIR_TASKS]).measures_gradients(fresh)


def test_an_absent_task_is_nan_and_left_out_of_the_means():
    module = _module()
    monitor = TaskGradientMonitor(TASKS, log_every=1)
    without_b = torch.ones(16, 3, dtype=torch.bool)
    without_b[:, 1] = False
    first = monitor.measure(module.task_losses(_batch(without_b)), None)
    assert math.isnan(first.norms[1]) and torch.isnan(first.cosines[1]).all() and torch.isnan(first.cosines[:, 1]).all()
    assert not torch.isnan(first.cosines[0, 2]) and first.cosines[0, 0] == 1.0
    scalars = monitor.scalars(first)
    assert (
        "train/grad_norm/b" not in scalars and "train/grad_cos/a~b" not in scalars and "train/grad_cos/a~c" in scalars
    )
    assert scalars["train/weight/b"] == 1.0  # the weight is recorded all the same

    full = _batch(torch.ones(16, 3, dtype=torch.bool))
    second = monitor.measure(module.task_losses(full), None)
    assert monitor.norm_count.tolist() == [2, 1, 2]
    assert monitor.cos_count[0, 1] == 1 and monitor.cos_count[0, 2] == 2
    torch.testing.assert_close(monitor.norm_mean()[1], second.norms[1])  # not (0 + second) / 2
    torch.testing.assert_close(monitor.cosine_mean()[0, 1], second.cosines[0, 1])
    torch.testing.assert_close(monitor.cosine_mean()[0, 2], (first.cosines[0, 2] + second.cosines[0, 2]) / 2)

    only_a = TaskGradientMonitor(TASKS, log_every=1)
    only_a.measure(module.task_losses(_batch(without_b & torch.tensor([True, False, False]))), None)
    record = only_a.record()["task_gradients"]  # JSON-safe: never-measured entries are None, not NaN
    assert record["norm_mean"][1] is None and record["cosine_mean"][0][1] is None and record["cosine_mean"][0][0] == 1.0


def test_weights_of_the_weighting_and_a_thinned_history():
    weighting = LearnedScales(TASKS, init=0.0)
    with torch.no_grad():
        weighting.logits.copy_(torch.tensor([0.0, 1.0, 2.0]))
    monitor = TaskGradientMonitor(TASKS, log_every=1, max_history=4)
    for step in range(11):
        losses = task_losses(torch.ones(3), torch.tensor(2.0), 4, reduce=lambda t: t, processes=1)
        losses.step = step
        m = monitor.measure(losses, weighting.weights())
    torch.testing.assert_close(m.weights, weighting.weights().detach().double())
    assert monitor.measurements == 0  # no shared parameter: weights only
    record = monitor.record()
    assert "task_gradients" not in record
    steps = record["task_weights"]["steps"]
    assert steps == [0, 4, 8, 10]  # halved whenever it outgrew 4 points, the last step kept
    assert record["task_weights"]["weights"][-1] == pytest.approx(weighting.weights().tolist())


def test_log_every_chooses_the_steps():
    every_3 = TaskGradientMonitor(TASKS, log_every=3)
    assert [s for s in range(10) if every_3.due(s, 0)] == [0, 3, 6, 9]
    every_3.last_step = 3  # measured at step 3: its other micro-batches (gradient accumulation) are not
    assert not every_3.due(3, 0) and every_3.due(6, 0)
    per_epoch = TaskGradientMonitor(TASKS, log_every=None)
    assert per_epoch.due(0, 0)
    per_epoch.last_epoch = 0
    assert not per_epoch.due(1, 0) and not per_epoch.due(3, 0) and per_epoch.due(4, 1)
    never = TaskGradientMonitor(TASKS, log_every=0)
    assert not any(never.due(s, e) for s in range(5) for e in range(2))


@pytest.mark.parametrize(
    "log_every, epochs, measured",
    [("3", 2, [0, 3, 6]), ("null", 2, [0, 4])],  # 1 and 0: test_monitoring_changes_nothing_that_is_trained
)
def test_a_run_measures_at_the_steps_log_every_chooses(tmp_path, log_every, epochs, measured):
    res = train(compose_config([*TINY, f"trainer.max_epochs={epochs}", f"weighting.log_every={log_every}"], tmp_path))
    assert res["task_weights"]["steps"] == measured
    assert res["task_gradients"]["measurements"] == len(measured) and res["task_gradients"]["tasks"] == res["tasks"]
    logged = (next(tmp_path.rglob("metrics.csv"))).read_text().splitlines()[0].split(",")
    assert {"train/grad_norm/car", "train/grad_cos/pedestrian~car", "train/weight/car"} <= set(logged)


def _final_state(tmp_path, overrides):
    res = train(compose_config([*TINY, "trainer.max_epochs=2", "trainer.deterministic=true", *overrides], tmp_path))
    return res, load_checkpoint(tmp_path / "checkpoints" / "last.ckpt")[0]["state_dict"]


@pytest.mark.parametrize("method", [[], GRADIENT], ids=["ew", "gradient-method"])
def test_monitoring_changes_nothing_that_is_trained(tmp_path, method):
    on, on_state = _final_state(tmp_path / "on", [*method, "weighting.log_every=1"])
    off, off_state = _final_state(tmp_path / "off", [*method, "weighting.log_every=0"])
    assert on["task_gradients"]["measurements"] == on["global_steps"] == 8 and "task_gradients" not in off
    assert on_state.keys() == off_state.keys()
    assert all(torch.equal(on_state[k], off_state[k]) for k in on_state), "monitoring changed the trained weights"
    assert on["metrics"] == off["metrics"]


def test_the_monitor_continues_after_a_resume(tmp_path):
    def run(epochs, out):  # no scheduler: its total steps would differ between the two lengths
        return train(
            compose_config([*TINY, f"trainer.max_epochs={epochs}", "weighting.log_every=1", "scheduler=none"], out)
        )

    straight = run(2, tmp_path / "straight")
    resumed = tmp_path / "resumed"
    half = run(1, resumed)
    assert half["task_gradients"]["measurements"] == 4
    again = run(2, resumed)  # ckpt_path=last: continues from the end of epoch 0
    assert again["task_weights"]["steps"] == straight["task_weights"]["steps"] == list(range(8))
    assert again["task_gradients"]["measurements"] == 8
    assert again["task_gradients"]["cosine_count"] == straight["task_gradients"]["cosine_count"]
    np.testing.assert_allclose(
        np.array(again["task_gradients"]["cosine_mean"], dtype=float),
        np.array(straight["task_gradients"]["cosine_mean"], dtype=float),
        atol=1e-5,
    )
    ckpt = load_checkpoint(resumed / "checkpoints" / "last.ckpt")[0]
    monitor = TaskGradientMonitor(again["tasks"], log_every=1)
    monitor.load_state_dict(ckpt["task_gradient_monitor"])
    assert monitor.record()["task_weights"]["steps"] == list(range(8))


def test_evaluating_a_checkpoint_keeps_the_training_record(tmp_path):
    """validate/test with the best checkpoint load it into the module: the monitor keeps what the fit measured."""
    import pytorch_lightning as pl

    from mtlkit.build import build_datamodule, build_module

    cfg = compose_config([*TINY, "weighting.log_every=1"], tmp_path)
    train(cfg)
    dm = build_datamodule(cfg.data)
    module = build_module(cfg, dm.input_shape, dm.tasks)
    module.task_gradient_monitor.measurements = 99
    trainer = pl.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.validate(module, datamodule=dm, ckpt_path=str(tmp_path / "checkpoints" / "last.ckpt"), verbose=False)
    assert module.task_gradient_monitor.measurements == 99


def test_transfer_records_its_fine_tuning_fit_and_separate_its_weights_only(tiny_checkpoints, tmp_path):
    """lp_ft fits twice (a probe with the backbone frozen, then everything): the record is the last fit's alone."""
    from tests.conftest import TINY_SOURCE

    overrides = ["approach=transfer", "finetune=lp_ft", "finetune.probe_epochs=1", "trainer.max_epochs=2"]
    checkpoint = f"transfer.checkpoint={tiny_checkpoints['multitask']}"
    res = train(compose_config([*TINY, *TINY_SOURCE, *overrides, checkpoint, "weighting.log_every=1"], tmp_path))
    assert res["task_weights"]["steps"] == [0, 1, 2, 3] and res["task_gradients"]["measurements"] == 4
    separate = json.loads((tiny_checkpoints["separate"] / "results.json").read_text())
    assert "task_gradients" not in separate  # no shared parameter: nothing to compare
    assert separate["task_weights"]["steps"] == [0] and separate["task_weights"]["tasks"] == separate["tasks"]
