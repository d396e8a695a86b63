"""The weighting seam carries both kinds of method: equal weighting reproduces the seed loss bit for bit; a
weighting with parameters, a buffer and extra state trains, is checkpointed, resumes and predicts; a gradient
method gets the per-task Jacobian and trains with manual optimisation, clipping and the scheduler."""

from __future__ import annotations

import copy

import pytest
import pytorch_lightning as pl
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mtlkit.build import build_datamodule, build_module, build_trainer, module_from_checkpoint
from mtlkit.cli.predict import main as predict_main
from mtlkit.errors import ConfigError
from mtlkit.models.separate import SeparateModule
from mtlkit.objective import EqualWeighting, MaskedTaskLoss, masked_bce, masked_bce_per_task, task_losses
from mtlkit.run import train
from mtlkit.runtime.checkpoints import load_checkpoint
from tests.conftest import TINY
from tests.helpers import compose_config
from tests.helpers.weightings import LearnedScales, UnitNormMean

LEARNED = ["weighting._target_=tests.helpers.weightings.LearnedScales", "scheduler=none", "trainer.deterministic=true"]
GRADIENT = [
    "weighting._target_=tests.helpers.weightings.UnitNormMean",
    "model=mlp",
    "model.width=16",
    "optimizer=sgd",
    "optimizer.lr=1.0",
    "optimizer.momentum=0",
    "optimizer.nesterov=false",
    "optimizer.weight_decay=0",
    "callbacks.early_stopping=null",
]


@settings(max_examples=60, deadline=None)
@given(
    m=st.integers(1, 30),
    tasks=st.integers(1, 5),
    missing=st.sampled_from([0.0, 0.5, 1.0]),
    normalization=st.sampled_from(["examples", "labels"]),
    unknown=st.sampled_from(["ignore", "negative"]),
    per_task=st.booleans(),
    seed=st.integers(0, 10_000),
)
def test_equal_weighting_is_the_seed_loss_bit_for_bit(m, tasks, missing, normalization, unknown, per_task, seed):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(m, tasks, generator=gen)
    y = (torch.rand(m, tasks, generator=gen) < 0.4).float()
    mask = torch.rand(m, tasks, generator=gen) >= missing
    a, b = logits.clone().requires_grad_(True), logits.clone().requires_grad_(True)
    seed_loss = masked_bce_per_task if per_task else masked_bce
    expected = seed_loss(a, y, mask, normalization, unknown)
    expected.backward()
    losses = MaskedTaskLoss(normalization, unknown, per_task=per_task).task_losses(b, y, mask)
    got = EqualWeighting([f"t{j}" for j in range(tasks)])(losses)
    got.backward()
    assert torch.equal(got.reshape(()), expected) and torch.equal(b.grad, a.grad)
    assert torch.equal(losses.value().reshape(()), expected.detach())


@settings(max_examples=40, deadline=None)
@given(m=st.integers(4, 30), tasks=st.integers(1, 4), world=st.integers(1, 3), seed=st.integers(0, 10_000))
def test_weighted_shares_average_to_the_weighted_global_loss(m, tasks, world, seed):
    """What DDP averages over the processes is the gradient of sum_j w_j L_j on the global batch."""
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(m, tasks, generator=gen, dtype=torch.float64)
    y = (torch.rand(m, tasks, generator=gen) < 0.4).double()
    mask = torch.rand(m, tasks, generator=gen) >= 0.5
    w = torch.rand(tasks, generator=gen, dtype=torch.float64) * 3
    objective = MaskedTaskLoss("labels", per_task=True)
    full = logits.clone().requires_grad_(True)
    sums, divisors = objective.terms(full, y, mask)
    (w * sums / divisors.clamp(min=1)).sum().backward()
    cuts = [0, *sorted(torch.randperm(m - 1, generator=gen)[: world - 1].add(1).tolist()), m]
    leaves = [logits[a:b].clone().requires_grad_(True) for a, b in zip(cuts[:-1], cuts[1:])]
    terms = [objective.terms(x, y[a:b], mask[a:b]) for x, a, b in zip(leaves, cuts[:-1], cuts[1:])]
    stats = sum(
        torch.cat([s.detach().float(), d.float(), torch.tensor([float(len(x))])]) for (s, d), x in zip(terms, leaves)
    )
    for (s, d), x in zip(terms, leaves):
        (task_losses(s, d, len(x), reduce=lambda t: stats, processes=world).combine(w) / world).backward()
    torch.testing.assert_close(torch.cat([x.grad for x in leaves]), full.grad, rtol=1e-5, atol=1e-7)


def test_a_stateful_weighting_trains_checkpoints_resumes_and_predicts(tmp_path, capsys):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    res = train(compose_config([*TINY, *LEARNED, "trainer.max_epochs=2"], straight))
    ckpt, _ = load_checkpoint(straight / "checkpoints" / "last.ckpt")
    state = ckpt["state_dict"]
    assert not torch.equal(state["weighting.logits"], torch.zeros(4)), "the weighting's parameter did not train"
    assert int(state["weighting.steps"]) == res["global_steps"] == 8
    assert state["weighting._extra_state"] == {"note": "after step 8"}
    groups = ckpt["optimizer_states"][0]["param_groups"]
    assert len(groups) == 3 and groups[2]["lr"] == pytest.approx(10 * groups[1]["lr"])  # its own group, lr_scale

    train(compose_config([*TINY, *LEARNED, "trainer.max_epochs=1"], resumed))
    half = load_checkpoint(resumed / "checkpoints" / "last.ckpt")[0]["state_dict"]
    assert int(half["weighting.steps"]) == 4
    capsys.readouterr()
    train(compose_config([*TINY, *LEARNED, "trainer.max_epochs=2"], resumed))  # ckpt_path=last: continues
    assert "Continuing from" in capsys.readouterr().out
    again = load_checkpoint(resumed / "checkpoints" / "last.ckpt")[0]["state_dict"]
    assert int(again["weighting.steps"]) == 8 and again["weighting._extra_state"] == {"note": "after step 8"}
    torch.testing.assert_close(again["weighting.logits"], state["weighting.logits"], rtol=0, atol=1e-6)

    module = module_from_checkpoint(ckpt)
    assert isinstance(module.weighting, LearnedScales) and module.weighting.note == "after step 8"
    assert torch.equal(module.weighting.logits.detach(), state["weighting.logits"])
    assert predict_main([str(straight), "-o", str(tmp_path / "p.csv")]) == 0


def test_aggregating_each_process_share_would_not_be_exact():
    """Why the Jacobian is averaged over the processes before a non-linear method sees it."""
    method = UnitNormMean(["a", "b"])
    share_1, share_2 = torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([[3.0, 0.0], [0.0, -1.0]])
    local = (method.aggregate(share_1, None) + method.aggregate(share_2, None)) / 2
    assert torch.equal(method.aggregate((share_1 + share_2) / 2, None), torch.tensor([1.0, 0.0]))
    assert not torch.allclose(local, torch.tensor([1.0, 0.0]))


class _Record(pl.Callback):
    def __init__(self):
        self.batches, self.params = [], []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.batches.append({k: v.clone() for k, v in batch.items()})
        self.params.append(copy.deepcopy(pl_module.state_dict()))


def _fit(cfg, dm, steps):
    module = build_module(cfg, dm.input_shape, dm.tasks)
    record = _Record()
    trainer = build_trainer(cfg, extra_callbacks=[record], max_steps=steps, num_sanity_val_steps=0)
    initial = copy.deepcopy(module)
    trainer.fit(module, datamodule=dm)
    return initial, module, trainer, record


def test_a_gradient_method_trains_the_shared_parameters_on_its_direction(tmp_path):
    cfg = compose_config([*TINY, *GRADIENT, "scheduler=none"], tmp_path)
    dm = build_datamodule(cfg.data)
    initial, module, _, record = _fit(cfg, dm, steps=1)
    assert not module.automatic_optimization
    batch = record.batches[0]
    shared = [p for p in initial.backbone.parameters()]
    losses = initial.task_losses(batch)
    rows = [
        torch.cat([g.reshape(-1) for g in torch.autograd.grad(losses.shares()[j], shared, retain_graph=True)])
        for j in range(len(dm.tasks))
    ]
    direction = UnitNormMean(dm.tasks).aggregate(torch.stack(rows), losses)
    before = torch.cat([p.detach().reshape(-1) for p in shared])
    after = torch.cat([p.detach().reshape(-1) for p in module.backbone.parameters()])
    torch.testing.assert_close(before - after, direction, rtol=1e-5, atol=1e-7)  # SGD, lr 1
    head_grad = torch.autograd.grad(losses.combine(), list(initial.heads.parameters()))
    for p0, p1, g in zip(initial.heads.parameters(), module.heads.parameters(), head_grad):
        torch.testing.assert_close(p0.detach() - p1.detach(), g, rtol=1e-5, atol=1e-7)  # heads: the summed loss


def test_a_gradient_method_aggregates_in_fp32_outside_autocast_under_bf16(tmp_path):
    """bf16-mixed: the aggregation gets an fp32 Jacobian with autocast off. (UPGrad failed on a GPU, and here, on a
    bf16 Gramian that torchjd hands to numpy.) UPGrad itself then trains."""
    overrides = ["weighting=upgrad", "trainer.precision=bf16-mixed", "callbacks.early_stopping=null"]
    cfg = compose_config([*TINY, *overrides], tmp_path)
    dm = build_datamodule(cfg.data)
    module = build_module(cfg, dm.input_shape, dm.tasks)
    seen, aggregate = [], module.weighting.aggregate

    def spy(jacobian, losses):
        seen.append((jacobian.dtype, torch.is_autocast_enabled("cpu")))
        return aggregate(jacobian, losses)

    module.weighting.aggregate = spy
    before = [p.detach().clone() for p in module.backbone.parameters()]
    build_trainer(cfg, max_steps=2, num_sanity_val_steps=0).fit(module, datamodule=dm)
    assert seen == [(torch.float32, False)] * 2
    assert any(not torch.equal(b, p) for b, p in zip(before, module.backbone.parameters()))


def test_a_gradient_method_clips_and_steps_the_scheduler_by_hand(tmp_path):
    cfg = compose_config([*TINY, *GRADIENT, "+trainer.gradient_clip_val=0.001", "scheduler=cosine"], tmp_path)
    dm = build_datamodule(cfg.data)
    _, module, trainer, record = _fit(cfg, dm, steps=3)
    assert trainer.gradient_clip_val is None and module.optimization.gradient_clip_val == 0.001  # the module clips
    assert trainer.lr_scheduler_configs[0].scheduler.last_epoch == 3 == trainer.global_step
    states = [*record.params, {k: v for k, v in module.state_dict().items()}]
    for a, b in zip(states[:-1], states[1:]):
        step = torch.cat([(a[k] - b[k]).reshape(-1) for k in a if k.startswith(("backbone.", "heads."))])
        assert 0 < step.norm() <= 0.001 * 1.0001  # lr <= 1 and the gradient norm clipped to 0.001


def test_a_gradient_method_fails_fast_where_it_cannot_work(tmp_path):
    cfg = compose_config([*TINY, *GRADIENT, "+trainer.accumulate_grad_batches=2"], tmp_path)
    with pytest.raises(ConfigError, match="accumulate_grad_batches=1"):
        build_trainer(cfg)
    cfg = compose_config([*TINY, *GRADIENT, "trainer.precision=16-mixed"], tmp_path)
    with pytest.raises(ConfigError, match="bf16-mixed"):
        build_trainer(cfg)
    cfg = compose_config([*TINY, *GRADIENT, "approach=separate"], tmp_path)
    with pytest.raises(ConfigError, match="approach=separate shares none"):
        build_module(cfg, [3, 16, 16], ["a", "b"], SeparateModule)
    with pytest.raises(ConfigError, match="approach=separate shares none"):
        train(cfg)  # before any data is built
