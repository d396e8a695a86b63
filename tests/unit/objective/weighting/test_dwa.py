"""weighting=dwa: Dynamic Weight Average, w_j = T softmax_j((Lbar_j(e-1) / Lbar_j(e-2)) / temperature)."""

from __future__ import annotations

import math

import pytest
import torch

from mtlkit.errors import ConfigError
from mtlkit.objective.weighting.dwa import DynamicWeightAverage
from tests.helpers.weighting_properties import (
    STEPS_WITH_LABELS,
    ContinuesExactlyFromACheckpoint,
    KeepsTheMissingLabelRule,
    Stateful,
    TrainsWithATaskNeverLabelled,
)
from tests.helpers.weighting_steps import assert_resumes_exactly, hand_losses


def _dwa(ratios: list[float], temperature: float = 2.0) -> list[float]:
    e = [math.exp(r / temperature) for r in ratios]
    return [len(ratios) * x / sum(e) for x in e]


def _step(method, values, epoch, counts=(1, 1, 1)):
    losses = hand_losses(values, list(counts))
    losses.epoch = epoch
    return method(losses)


def test_weights_follow_the_ratio_of_the_last_two_epoch_means():
    method = DynamicWeightAverage(["a", "b", "c"])
    epochs = [
        [[0.9, 0.6, 0.3], [0.7, 0.6, 0.5]],  # means 0.8, 0.6, 0.4
        [[0.6, 0.3, 0.4], [0.4, 0.3, 0.2]],  # means 0.5, 0.3, 0.3
        [[0.3, 0.3, 0.3], [0.3, 0.1, 0.3]],  # means 0.3, 0.2, 0.3
        [[0.2, 0.2, 0.2]],
    ]
    seen = []
    for epoch, steps in enumerate(epochs):
        for values in steps:
            loss = _step(method, values, epoch)
            w = method.weights()
            seen.append(w)
            assert loss.item() == pytest.approx(sum(wj * v for wj, v in zip(w.tolist(), values)), rel=1e-6)
    assert all(torch.equal(w, torch.ones(3)) for w in seen[:4])  # the first two epochs: exactly 1
    torch.testing.assert_close(seen[4], torch.tensor(_dwa([0.5 / 0.8, 0.3 / 0.6, 0.3 / 0.4])))
    torch.testing.assert_close(seen[5], seen[4])  # constant within an epoch
    torch.testing.assert_close(seen[6], torch.tensor(_dwa([0.3 / 0.5, 0.2 / 0.3, 0.3 / 0.3])))


def test_epoch_means_count_only_steps_with_labels_and_a_task_without_a_mean_has_ratio_one():
    method = DynamicWeightAverage(["a", "b", "c"], temperature=0.5)
    _step(method, [0.8, 0.6, 0.4], 0, counts=(3, 2, 1))
    _step(method, [0.4, 0.0, 0.0], 0, counts=(3, 0, 0))  # b and c unlabelled: not in their means
    _step(method, [0.5, 0.3, 0.0], 1, counts=(3, 2, 0))  # c without any label in epoch 1
    _step(method, [0.3, 0.3, 0.0], 1, counts=(3, 2, 0))
    _step(method, [0.1, 0.1, 0.1], 2)
    torch.testing.assert_close(method.last_means, torch.tensor([0.4, 0.3, 0.0]))
    torch.testing.assert_close(method.prev_means, torch.tensor([0.6, 0.6, 0.4]))
    assert method.last_seen.tolist() == [True, True, False]
    torch.testing.assert_close(method.weights(), torch.tensor(_dwa([0.4 / 0.6, 0.3 / 0.6, 1.0], 0.5)))


def test_state_is_in_buffers_and_resumes_exactly_in_the_middle_of_an_epoch():
    keys = {"epoch", "epoch_sums", "epoch_steps", "last_means", "last_seen", "prev_means", "prev_seen"}
    assert set(DynamicWeightAverage(["a"]).state_dict()) == keys
    # saved after the first step of epoch 3
    assert_resumes_exactly(DynamicWeightAverage, before=7, after=6, steps_per_epoch=2)
    assert_resumes_exactly(DynamicWeightAverage, before=6, after=6, steps_per_epoch=3)  # saved at the end of an epoch


def test_the_temperature_must_be_positive():
    with pytest.raises(ConfigError, match="temperature must be > 0"):
        DynamicWeightAverage(["a"], temperature=0)


class TestDynamicWeightAverage(
    KeepsTheMissingLabelRule, Stateful, TrainsWithATaskNeverLabelled, ContinuesExactlyFromACheckpoint
):
    make = staticmethod(DynamicWeightAverage)
    config = "dwa"
    new_epoch_moves_every_task = True  # the means of the last epoch roll over for every task

    def check_trained_state(self, state):
        assert int(state["weighting.epoch"]) == 0
        assert torch.equal(state["weighting.epoch_steps"], STEPS_WITH_LABELS.float())

    def check_continued_state(self, state):
        assert not torch.equal(state["weighting.prev_means"], torch.zeros(4))  # two epoch means existed in epoch 3
