"""weighting=uw: Kendall et al.'s uncertainty weighting, J = sum_j 0.5 (exp(-s_j) L_j + s_j)."""

from __future__ import annotations

import math

import pytest
import torch

from mtlkit.objective.weighting.uw import UncertaintyWeighting
from tests.helpers.weighting_properties import KeepsTheMissingLabelRule, Stateful, TrainsWithATaskNeverLabelled
from tests.helpers.weighting_steps import hand_losses


def test_loss_and_gradient_of_the_log_variances_follow_the_formula():
    method = UncertaintyWeighting(["a", "b", "c"])
    s = [0.3, -0.7, 1.1]
    with torch.no_grad():
        method.log_vars.copy_(torch.tensor(s))
    values, counts = [0.4, 1.3, 0.0], [5, 2, 0]  # task c has no label
    loss = method(hand_losses(values, counts))
    loss.backward()
    expected = sum(0.5 * (math.exp(-s[j]) * values[j] + s[j]) for j in range(2))
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    grad = [0.5 * (1 - math.exp(-s[j]) * values[j]) for j in range(2)] + [0.0]  # d/ds_j; absent: none
    torch.testing.assert_close(method.log_vars.grad, torch.tensor(grad))
    torch.testing.assert_close(method.weights(), 0.5 * torch.exp(-torch.tensor(s)))


def test_at_the_optimum_each_variance_is_its_loss():
    """Minimising over s with the losses fixed gives exp(s_j) = L_j (the learned variance)."""
    method = UncertaintyWeighting(["a", "b"])
    opt = torch.optim.SGD(method.parameters(), lr=0.5)
    for _ in range(400):
        opt.zero_grad()
        method(hand_losses([0.25, 2.0], [1, 1])).backward()
        opt.step()
    torch.testing.assert_close(method.log_vars.exp().detach(), torch.tensor([0.25, 2.0]), rtol=1e-4, atol=1e-5)


def test_the_state_is_the_log_variances():
    assert list(UncertaintyWeighting(["a"]).state_dict()) == ["log_vars"]


class TestUncertaintyWeighting(KeepsTheMissingLabelRule, Stateful, TrainsWithATaskNeverLabelled):
    make = staticmethod(UncertaintyWeighting)
    config = "uw"

    def check_trained_state(self, state):
        s = state["weighting.log_vars"]
        assert s[2] == 0 and torch.all(s[[0, 1, 3]] != 0)  # the never-labelled task's variance never moved
