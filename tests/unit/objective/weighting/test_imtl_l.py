"""weighting=imtl_l: IMTL's loss balance, J = sum_j (exp(s_j) L_j - s_j)."""

from __future__ import annotations

import math

import pytest
import torch

from mtlkit.objective.weighting.imtl_l import IMTLLossBalance
from tests.helpers.weighting_properties import KeepsTheMissingLabelRule, Stateful, TrainsWithATaskNeverLabelled
from tests.helpers.weighting_steps import hand_losses


def test_loss_and_gradient_of_the_scales_follow_the_formula():
    method = IMTLLossBalance(["a", "b", "c"])
    s = [0.2, -1.5, 0.9]
    with torch.no_grad():
        method.scales.copy_(torch.tensor(s))
    values, counts = [0.6, 0.05, 0.0], [3, 1, 0]  # task c has no label
    loss = method(hand_losses(values, counts))
    loss.backward()
    assert loss.item() == pytest.approx(sum(math.exp(s[j]) * values[j] - s[j] for j in range(2)), rel=1e-6)
    grad = [math.exp(s[j]) * values[j] - 1 for j in range(2)] + [0.0]
    torch.testing.assert_close(method.scales.grad, torch.tensor(grad))
    torch.testing.assert_close(method.weights(), torch.exp(torch.tensor(s)))


def test_at_the_optimum_every_scaled_loss_is_one():
    method = IMTLLossBalance(["a", "b"])
    opt = torch.optim.SGD(method.parameters(), lr=0.1)
    for _ in range(600):
        opt.zero_grad()
        method(hand_losses([0.25, 2.0], [1, 1])).backward()
        opt.step()
    torch.testing.assert_close(method.weights() * torch.tensor([0.25, 2.0]), torch.ones(2), rtol=1e-4, atol=1e-5)


def test_the_state_is_the_scales():
    assert list(IMTLLossBalance(["a"]).state_dict()) == ["scales"]


class TestIMTLLossBalance(KeepsTheMissingLabelRule, Stateful, TrainsWithATaskNeverLabelled):
    make = staticmethod(IMTLLossBalance)
    config = "imtl_l"

    def check_trained_state(self, state):
        s = state["weighting.scales"]
        assert s[2] == 0 and torch.all(s[[0, 1, 3]] != 0)  # the never-labelled task's scale never moved
