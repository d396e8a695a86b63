"""weighting=static: fixed weights by task name, 1 for the others, unknown names refused."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from mtlkit.build import build_weighting
from mtlkit.errors import ConfigError, user_error
from mtlkit.objective import EqualWeighting, MaskedTaskLoss
from mtlkit.objective.weighting.static import StaticWeighting
from tests.helpers import compose_config
from tests.helpers.weighting_properties import KeepsTheMissingLabelRule, Stateless, TrainsWithATaskNeverLabelled
from tests.helpers.weighting_steps import batch, hand_losses


def test_the_loss_is_the_weighted_sum_of_the_task_losses():
    method = StaticWeighting(["a", "b", "c"], weights={"b": 4})
    losses = hand_losses([0.2, 0.5, 0.1], counts=[3, 2, 0])
    assert torch.equal(method.weights(), torch.tensor([1.0, 4.0, 1.0]))
    assert method(losses).item() == pytest.approx(0.2 + 4 * 0.5 + 0.1)


def test_the_gradient_is_that_of_the_weighted_masked_loss():
    data = batch(9, 3, seed=1)
    logits = torch.randn(9, 3, generator=torch.Generator().manual_seed(2))
    a, b = logits.clone().requires_grad_(True), logits.clone().requires_grad_(True)
    w = torch.tensor([0.5, 1.0, 3.0])
    per_entry = F.binary_cross_entropy_with_logits(a, data["y"], reduction="none")
    (torch.where(data["mask"], per_entry * w, 0.0).sum() / 9).backward()
    losses = MaskedTaskLoss().task_losses(b, data["y"], data["mask"])
    StaticWeighting(["x", "y", "z"], weights={"x": 0.5, "z": 3})(losses).backward()
    torch.testing.assert_close(b.grad, a.grad)


def test_weights_of_one_are_equal_weighting_bit_for_bit():
    data = batch(7, 3, seed=4)
    logits = torch.randn(7, 3, generator=torch.Generator().manual_seed(5))
    a, b = logits.clone().requires_grad_(True), logits.clone().requires_grad_(True)
    la = EqualWeighting(["x", "y", "z"])(MaskedTaskLoss().task_losses(a, data["y"], data["mask"]))
    lb = StaticWeighting(["x", "y", "z"], weights={"y": 1})(MaskedTaskLoss().task_losses(b, data["y"], data["mask"]))
    la.backward()
    lb.backward()
    assert torch.equal(la, lb) and torch.equal(a.grad, b.grad)


def test_bad_weights_are_config_errors_naming_the_tasks():
    with pytest.raises(ConfigError, match=r"unknown task\(s\) \['bus'\]; the tasks are \['car', 'pedestrian'\]"):
        StaticWeighting(["car", "pedestrian"], weights={"bus": 2})
    with pytest.raises(ConfigError, match="weighting.weights.car must be finite and >= 0"):
        StaticWeighting(["car", "pedestrian"], weights={"car": -1})
    with pytest.raises(ConfigError, match="weighting.weights.car must be a number"):
        StaticWeighting(["car", "pedestrian"], weights={"car": "heavy"})


def test_the_config_takes_weights_by_name(tmp_path):
    cfg = compose_config(["weighting=static", "weighting.weights={pedestrian: 4}"], tmp_path)
    tasks = ["pedestrian", "car", "stop_sign"]
    assert torch.equal(build_weighting(cfg, tasks).weights(), torch.tensor([4.0, 1.0, 1.0]))
    assert torch.equal(build_weighting(compose_config(["weighting=static"], tmp_path), tasks).weights(), torch.ones(3))
    with pytest.raises(Exception) as info:
        build_weighting(compose_config(["weighting=static", "weighting.weights={bus: 4}"], tmp_path), tasks)
    assert isinstance(user_error(info.value), ConfigError) and "pedestrian" in str(user_error(info.value))


class TestStaticWeighting(KeepsTheMissingLabelRule, Stateless, TrainsWithATaskNeverLabelled):
    make = staticmethod(lambda tasks: StaticWeighting(tasks, weights={tasks[0]: 2.5}))
    config = "static"
    overrides = ("weighting.weights={pedestrian: 4}",)
