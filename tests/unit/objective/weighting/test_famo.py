"""weighting=famo: FAMO's model update and logit update, against the formulas of the official implementation
(github.com/Cranial-XIX/FAMO, ``FAMO.get_weighted_loss`` and ``FAMO.update``) rewritten here from the paper."""

from __future__ import annotations

import copy

import torch
from torch import nn

from mtlkit.build import build_weighting
from mtlkit.objective.task_losses import TaskLosses
from mtlkit.objective.weighting.famo import FAMO
from tests.helpers import compose_config
from tests.helpers.weighting_properties import (
    STEPS_WITH_LABELS,
    ContinuesExactlyFromACheckpoint,
    KeepsTheMissingLabelRule,
    Stateful,
    TrainsWithATaskNeverLabelled,
)
from tests.helpers.weighting_steps import (
    TinyNet,
    batch,
    hand_losses,
    train_step,
)

EPS = 1e-8


def _official_loss(values: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """c * sum_j z_j log(L_j + eps), c = 1 / sum_j z_j / (L_j + eps) held constant."""
    z = torch.softmax(logits, 0)
    d = values + EPS
    c = (z / d).sum().detach()
    return (d.log() * z / c).sum()


def _official_update(logits: torch.Tensor, opt: torch.optim.Optimizer, before, after) -> None:
    """One Adam step on the logits with the gradient J_softmax^T delta, delta the decrease of log(L + eps)."""
    delta = (before + EPS).log() - (after + EPS).log()
    with torch.enable_grad():
        (d,) = torch.autograd.grad(torch.softmax(logits, 0), logits, grad_outputs=delta)
    opt.zero_grad()
    logits.grad = d
    opt.step()


class _Measured(nn.Module):
    """A stand-in network whose losses after the step are given."""

    def __init__(self, values: list[float], counts: list[int]):
        super().__init__()
        self.values, self.counts = values, counts

    def task_losses(self, batch) -> TaskLosses:
        return hand_losses(self.values, self.counts)


def test_the_network_trains_on_the_gradient_of_the_official_loss():
    gen = torch.Generator().manual_seed(0)
    theta = torch.randn(5, generator=gen, requires_grad=True)
    a = torch.randn(4, 5, generator=gen)
    logits = torch.randn(4, generator=gen)
    method = FAMO(["a", "b", "c", "d"])
    method.logits.copy_(logits)

    (expected,) = torch.autograd.grad(_official_loss(nn.functional.softplus(a @ theta), logits), theta)
    values = nn.functional.softplus(a @ theta)
    losses = hand_losses([0.0] * 4, [1] * 4)
    losses.sums, losses.global_sums = values * 10, values.detach() * 10
    (got,) = torch.autograd.grad(method(losses), theta)
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(method.weights().sum(), torch.tensor(1.0))  # a convex combination


def test_the_logits_follow_the_official_adam_update():
    method = FAMO(["a", "b", "c"], w_lr=0.05, gamma=0.01)
    reference = torch.zeros(3, requires_grad=True)
    opt = torch.optim.Adam([reference], lr=0.05, weight_decay=0.01)
    gen = torch.Generator().manual_seed(1)
    for _ in range(6):
        before = torch.rand(3, generator=gen) + 0.1
        after = before * (0.5 + torch.rand(3, generator=gen))
        losses = hand_losses(before.tolist(), [2, 2, 2])
        method(losses)
        method.after_step(_Measured(after.tolist(), [2, 2, 2]), {}, losses)
        _official_update(reference, opt, hand_losses(before.tolist(), [2] * 3).values, after)
        torch.testing.assert_close(method.logits, reference.detach(), rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(method.exp_avg, opt.state[reference]["exp_avg"], rtol=1e-5, atol=1e-9)
    assert method.adam_steps.tolist() == [6, 6, 6]


def test_an_absent_task_takes_no_weight_and_its_logit_and_moments_are_left_alone():
    method = FAMO(["a", "b", "c"])
    start = torch.tensor([0.4, -0.3, 0.1])
    method.logits.copy_(start)
    before, after = [0.7, 0.0, 0.2], [0.5, 0.0, 0.19]  # task b has no label
    losses = hand_losses(before, [3, 0, 1])
    method(losses)
    w = method.weights()
    assert w[1] == 0
    sub = torch.softmax(start[[0, 2]], 0) / torch.tensor([0.7 + EPS, 0.2 + EPS])  # the official weights of a and c
    torch.testing.assert_close(w[[0, 2]], sub / sub.sum())

    method.after_step(_Measured(after, [3, 0, 1]), {}, losses)
    reference = start[[0, 2]].clone().requires_grad_(True)  # FAMO on the two present tasks alone
    opt = torch.optim.Adam([reference], lr=0.025, weight_decay=0.001)
    _official_update(reference, opt, torch.tensor([0.7, 0.2]), torch.tensor([0.5, 0.19]))
    torch.testing.assert_close(method.logits[[0, 2]], reference.detach(), rtol=1e-5, atol=1e-7)
    assert method.logits[1] == start[1] and method.exp_avg[1] == 0 and method.exp_avg_sq[1] == 0
    assert method.adam_steps.tolist() == [1, 0, 1]


class _BatchNormNet(TinyNet):
    def __init__(self):
        super().__init__(4, 3, seed=2)
        self.norm = nn.BatchNorm1d(3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.heads(torch.tanh(self.norm(self.shared(x))))


def test_measuring_again_does_not_count_the_batch_twice_in_batchnorm():
    method, net = FAMO(["a", "b", "c"]), _BatchNormNet()
    data = batch(8, 3, seed=3, missing=0.2)
    losses = net.task_losses(data)
    params = list(net.parameters())
    grads = torch.autograd.grad(method(losses), params)
    with torch.no_grad():
        for p, g in zip(params, grads):
            p.sub_(0.5 * g)
    stats = copy.deepcopy(net.norm.state_dict())  # after the step's own forward pass
    net.logits = None
    with torch.no_grad():
        expected = copy.deepcopy(net).task_losses(data).values  # in training mode, as the official code measures
    method.after_step(net, data, losses)
    assert all(torch.equal(v, net.norm.state_dict()[k]) for k, v in stats.items())
    reference = torch.zeros(3, requires_grad=True)
    _official_update(reference, torch.optim.Adam([reference], lr=0.025, weight_decay=0.001), losses.values, expected)
    torch.testing.assert_close(method.logits, reference.detach())
    assert not torch.equal(method.logits, torch.zeros(3))


def test_defaults_are_the_papers(tmp_path):
    method = build_weighting(compose_config(["weighting=famo"], tmp_path), ["a", "b"])
    assert isinstance(method, FAMO)
    assert (method.w_lr, method.gamma, method.eps) == (0.025, 0.001, 1e-8)
    assert method.parameters() is not None and not list(method.parameters())  # nothing for the main optimizer


def test_the_state_is_in_buffers_and_moves():
    assert set(FAMO(["a"]).state_dict()) == {"logits", "exp_avg", "exp_avg_sq", "adam_steps"}
    method, net = FAMO(["a", "b"]), TinyNet(4, 2)
    train_step(method, net, batch(6, 2, seed=0), 0, 0)
    assert not torch.equal(method.logits, torch.zeros(2))


class TestFAMO(KeepsTheMissingLabelRule, Stateful, TrainsWithATaskNeverLabelled, ContinuesExactlyFromACheckpoint):
    make = staticmethod(lambda tasks: FAMO(tasks, w_lr=0.1))  # a large step, so that the logits visibly move
    config = "famo"

    def check_trained_state(self, state):
        assert state["weighting.logits"][2] == 0 and torch.all(state["weighting.logits"][[0, 1, 3]] != 0)
        assert torch.equal(state["weighting.adam_steps"], STEPS_WITH_LABELS)
