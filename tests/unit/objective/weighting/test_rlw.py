"""weighting=rlw: random loss weighting, w = softmax(z) with z ~ N(0, I) drawn afresh at every step."""

from __future__ import annotations

import pytest
import torch

from mtlkit.objective.weighting.rlw import RandomLossWeighting
from tests.helpers.weighting_properties import KeepsTheMissingLabelRule, Stateless, TrainsWithATaskNeverLabelled
from tests.helpers.weighting_steps import hand_losses


def test_the_loss_is_the_randomly_weighted_sum_and_the_weights_sum_to_one():
    method = RandomLossWeighting(["a", "b", "c"], seed=1)
    values = [0.3, 0.9, 0.0]
    for step in range(5):
        losses = hand_losses(values, [2, 2, 0])
        losses.step = step
        loss = method(losses)
        w = method.weights()
        assert torch.all(w > 0) and w.sum().item() == pytest.approx(1.0, abs=1e-6)
        assert loss.item() == pytest.approx(sum(wj * v for wj, v in zip(w.tolist(), values)), rel=1e-6)


def test_the_draw_depends_only_on_the_seed_and_the_step():
    """The same on every DDP process and after a resume (a fresh object), different at every step and seed."""
    a, b = RandomLossWeighting(["x", "y", "z"], seed=7), RandomLossWeighting(["x", "y", "z"], seed=7)
    b.draw(123)  # what was drawn before does not matter
    assert torch.equal(a.draw(5), b.draw(5))
    assert not torch.equal(a.draw(5), a.draw(6))
    assert not torch.equal(a.draw(5), RandomLossWeighting(["x", "y", "z"], seed=8).draw(5))


def test_the_log_weights_are_normal_up_to_a_shift():
    """log w_i - log w_j = z_i - z_j ~ N(0, 2) for z ~ N(0, I): the softmax of standard normal draws."""
    method = RandomLossWeighting(["x", "y", "z"])
    logs = torch.stack([method.draw(step).log() for step in range(4000)]).double()
    diff = logs[:, 0] - logs[:, 1]
    assert abs(diff.mean().item()) < 0.1
    assert diff.var().item() == pytest.approx(2.0, rel=0.1)
    centred = logs - logs.mean(1, keepdim=True)  # z - mean(z): variance 1 - 1/T = 2/3 per entry
    assert centred.var(0).mean().item() == pytest.approx(2 / 3, rel=0.1)


class TestRandomLossWeighting(KeepsTheMissingLabelRule, Stateless, TrainsWithATaskNeverLabelled):
    make = staticmethod(lambda tasks: RandomLossWeighting(tasks, seed=3))
    config = "rlw"
