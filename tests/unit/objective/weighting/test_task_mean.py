"""weighting=task_mean: each task's loss is the mean of its logistic loss over its own labelled entries."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from mtlkit.objective import MaskedTaskLoss
from mtlkit.objective.weighting.task_mean import TaskMeanWeighting
from tests.helpers.weighting_properties import KeepsTheMissingLabelRule, Stateless, TrainsWithATaskNeverLabelled
from tests.helpers.weighting_steps import batch, hand_losses


def test_weights_are_divisor_over_label_count():
    losses = hand_losses([0.2, 0.5, 0.0], counts=[4, 1, 0], divisor=8.0)
    method = TaskMeanWeighting(["a", "b", "c"])
    value = method(losses)
    assert torch.equal(method.weights(), torch.tensor([2.0, 8.0, 8.0]))
    # S_j / n_j: S = L * 8 -> 1.6 / 4 + 4 / 1 + 0 (no label: 0, not 0/0)
    assert value.item() == pytest.approx(0.4 + 4.0)


@pytest.mark.parametrize("normalization", ["examples", "labels"])
@pytest.mark.parametrize("per_task", [False, True])
def test_the_loss_is_the_sum_of_the_per_task_means_whatever_the_seed_normalisation(normalization, per_task):
    data = batch(11, 4, seed=3, missing=0.6)
    data["mask"][:, 2] = False  # a task with no label
    logits = torch.randn(11, 4, generator=torch.Generator().manual_seed(8))
    a, b = logits.clone().requires_grad_(True), logits.clone().requires_grad_(True)
    expected = sum(
        F.binary_cross_entropy_with_logits(a[data["mask"][:, j], j], data["y"][data["mask"][:, j], j])
        for j in range(4)
        if data["mask"][:, j].any()
    )
    expected.backward()
    losses = MaskedTaskLoss(normalization, per_task=per_task).task_losses(b, data["y"], data["mask"])
    got = TaskMeanWeighting(["a", "b", "c", "d"])(losses)
    got.backward()
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(b.grad, a.grad)
    assert torch.all(b.grad[:, 2] == 0)


def test_with_unknown_as_negative_every_entry_counts():
    data = batch(6, 2, seed=2)
    logits = torch.randn(6, 2, generator=torch.Generator().manual_seed(1))
    losses = MaskedTaskLoss(unknown="negative").task_losses(logits, data["y"], data["mask"])
    expected = F.binary_cross_entropy_with_logits(logits, torch.where(data["mask"], data["y"], 0.0), reduction="none")
    torch.testing.assert_close(TaskMeanWeighting(["a", "b"])(losses), expected.mean(0).sum())


class TestTaskMeanWeighting(KeepsTheMissingLabelRule, Stateless, TrainsWithATaskNeverLabelled):
    make = staticmethod(TaskMeanWeighting)
    config = "task_mean"
