"""weighting=gradnorm: learned weights pulled towards equal training rates of the task gradient norms."""

from __future__ import annotations

import math

import pytest
import torch

from mtlkit.errors import ConfigError
from mtlkit.objective.task_losses import task_losses
from mtlkit.objective.weighting.gradnorm import GradNorm
from tests.helpers.weighting_properties import KeepsTheMissingLabelRule, Stateful, TrainsWithATaskNeverLabelled

A = torch.tensor([[1.0, 2.0, 0.0, 0.0], [0.0, 0.0, 3.0, 0.0], [1.0, 1.0, 1.0, 1.0]])  # grad of L_j is row j
NORMS = [math.sqrt(5), 3.0, 2.0]


def _losses(theta: torch.Tensor, counts=(10, 10, 10), step: int = 0, shared: bool = True):
    """A batch of 10 examples where task j has ``counts[j]`` labelled entries, each of loss ``A_j . theta``: with
    every entry labelled, L_j = A_j . theta and the Jacobian of the losses is A."""
    sums = torch.tensor(counts, dtype=theta.dtype) * (A @ theta)
    losses = task_losses(sums, torch.tensor(10.0), 10, reduce=lambda t: t, processes=1, counts=torch.tensor(counts))
    losses.shared_parameters, losses.step = ([theta] if shared else []), step
    return losses


def _expected(w, values, initial, present, alpha=1.5):
    """(GradNorm loss, its gradient w.r.t. w), by hand."""
    idx = [j for j in range(3) if present[j]]
    g = {j: w[j] * NORMS[j] for j in idx}
    ratio = {j: values[j] / initial[j] for j in idx}
    mean_ratio = sum(ratio.values()) / len(idx)
    mean_g = sum(g.values()) / len(idx)
    target = {j: mean_g * (ratio[j] / mean_ratio) ** alpha for j in idx}
    loss = sum(abs(g[j] - target[j]) for j in idx)
    grad = [math.copysign(NORMS[j], g[j] - target[j]) if j in idx else 0.0 for j in range(3)]
    return loss, grad


def test_the_gradnorm_loss_and_its_gradient_follow_the_paper():
    method = GradNorm(["a", "b", "c"])
    theta = torch.tensor([0.1, 0.2, 0.3, 0.4], requires_grad=True)
    initial = (A @ theta).tolist()  # L(0) = [0.5, 0.9, 1.0]

    loss = method(_losses(theta))
    loss.backward()
    gn, grad = _expected([1.0, 1.0, 1.0], initial, initial, [True] * 3)
    assert loss.item() == pytest.approx(sum(initial) + gn, rel=1e-6)
    torch.testing.assert_close(method.task_weights.grad, torch.tensor(grad))
    torch.testing.assert_close(theta.grad, A.sum(0))  # the network trains on sum_j w_j L_j only
    torch.testing.assert_close(method.initial_losses, torch.tensor(initial))

    w = [1.2, 0.8, 1.0]
    with torch.no_grad():
        method.task_weights.copy_(torch.tensor(w))
    method.task_weights.grad = None
    theta = torch.tensor([0.05, 0.2, 0.1, 0.4], requires_grad=True)
    values = (A @ theta).tolist()  # [0.45, 0.3, 0.75]
    loss = method(_losses(theta, step=1))
    loss.backward()
    gn, grad = _expected(w, values, initial, [True] * 3)
    assert loss.item() == pytest.approx(sum(wj * v for wj, v in zip(w, values)) + gn, rel=1e-6)
    torch.testing.assert_close(method.task_weights.grad, torch.tensor(grad))
    torch.testing.assert_close(theta.grad, torch.tensor(w) @ A)
    torch.testing.assert_close(method.initial_losses, torch.tensor(initial))  # L(0) stays that of the first step


def test_after_each_step_the_weights_sum_to_the_number_of_tasks():
    method = GradNorm(["a", "b", "c"])
    theta = torch.tensor([0.1, 0.2, 0.3, 0.4], requires_grad=True)
    losses = _losses(theta)
    method(losses)
    with torch.no_grad():
        method.task_weights.copy_(torch.tensor([2.0, 1.0, 3.0]))
    method.after_step(None, {}, losses)
    torch.testing.assert_close(method.task_weights.detach(), torch.tensor([1.0, 0.5, 1.5]))


def test_a_task_first_labelled_later_takes_its_initial_loss_then_and_is_left_out_until_then():
    method = GradNorm(["a", "b", "c"], alpha=1.0)
    theta = torch.tensor([0.1, 0.2, 0.3, 0.4], requires_grad=True)
    loss = method(_losses(theta, counts=(10, 0, 10)))
    loss.backward()
    assert method.has_initial.tolist() == [True, False, True]
    assert method.task_weights.grad[1] == 0
    _, grad = _expected([1.0, 1.0, 1.0], [0.5, 0.0, 1.0], [0.5, 1.0, 1.0], [True, False, True], alpha=1.0)
    torch.testing.assert_close(method.task_weights.grad, torch.tensor(grad))

    theta2 = torch.tensor([0.05, 0.2, 0.1, 0.4], requires_grad=True)
    method.task_weights.grad = None
    method(_losses(theta2, step=1)).backward()
    values = (A @ theta2).tolist()
    initial = [0.5, values[1], 1.0]  # task b's L(0) is its loss at its first labelled step
    torch.testing.assert_close(method.initial_losses, torch.tensor(initial))
    _, grad = _expected([1.0, 1.0, 1.0], values, initial, [True] * 3, alpha=1.0)
    torch.testing.assert_close(method.task_weights.grad, torch.tensor(grad))


def test_without_shared_parameters_the_weights_are_left_alone():
    method = GradNorm(["a", "b", "c"])
    with torch.no_grad():
        method.task_weights.copy_(torch.tensor([2.0, 1.0, 1.0]))
    theta = torch.tensor([0.1, 0.2, 0.3, 0.4], requires_grad=True)
    losses = _losses(theta, shared=False)
    method(losses).backward()
    assert torch.equal(method.task_weights.grad, torch.zeros(3))
    method.after_step(None, {}, losses)
    assert torch.equal(method.task_weights.detach(), torch.tensor([2.0, 1.0, 1.0]))


def test_the_state_and_the_shared_parameters_it_needs():
    assert set(GradNorm(["a"]).state_dict()) == {"task_weights", "initial_losses", "has_initial"}
    assert GradNorm.needs_shared_parameters


def test_alpha_must_not_be_negative():
    with pytest.raises(ConfigError, match="alpha must be >= 0"):
        GradNorm(["a"], alpha=-1)


def _two_task_losses(per_label: list[float], counts: list[int], step: int) -> tuple[torch.Tensor, object]:
    """A batch of 32 examples where task j has ``counts[j]`` labelled entries, each of loss ``per_label[j]``
    (L_j = counts_j * per_label_j / 32, as the seed formula divides by m)."""
    theta = torch.tensor(per_label, requires_grad=True)
    sums = torch.tensor(counts, dtype=torch.float32) * theta
    losses = task_losses(sums, torch.tensor(32.0), 32, reduce=lambda t: t, processes=1, counts=torch.tensor(counts))
    losses.shared_parameters, losses.step = [theta], step
    return theta, losses


def test_training_rates_do_not_depend_on_how_many_labels_a_task_has_in_a_batch():
    """Issue 24: a first batch where task 0 had 4 of 32 labels gave training rates [1.75, 0.25] (fully labelled:
    [1.01, 0.99]). Rates compare each task's mean loss per labelled entry with its first one (Chen et al. 2018 compare
    L_j(t) with L_j(0)), so the first batch's label counts no longer decide the weights."""
    objectives, rates = [], []
    for first_counts in ([4, 32], [32, 32]):
        method = GradNorm(["a", "b"])
        method(_two_task_losses([0.69, 0.69], first_counts, step=0)[1])
        _, later = _two_task_losses([0.6, 0.5], [32, 32], step=1)
        objectives.append(method(later).item())  # sum_j w_j L_j + the GradNorm loss, whose targets use the rates
        rates.append(method.inverse_training_rates(later))
    assert objectives[0] == pytest.approx(objectives[1], rel=1e-6)
    torch.testing.assert_close(rates[0], rates[1])
    torch.testing.assert_close(rates[1], torch.tensor([0.6, 0.5]) / 0.55)


def test_a_batch_with_few_labels_measures_the_same_training_rate():
    """Later batches too: the rate is per labelled entry, so 4 labels of loss 0.6 count as 32 labels of 0.6."""
    method = GradNorm(["a", "b"])
    method(_two_task_losses([0.69, 0.69], [32, 32], step=0)[1])
    few = method.inverse_training_rates(_two_task_losses([0.6, 0.5], [4, 32], step=1)[1])
    full = method.inverse_training_rates(_two_task_losses([0.6, 0.5], [32, 32], step=1)[1])
    torch.testing.assert_close(few, full)


class TestGradNorm(KeepsTheMissingLabelRule, Stateful, TrainsWithATaskNeverLabelled):
    make = staticmethod(GradNorm)
    config = "gradnorm"
    shared_state = frozenset({"task_weights"})  # renormalised over all tasks after each step

    def check_trained_state(self, state):
        assert state["weighting.has_initial"].tolist() == [True, True, False, True]
        assert state["weighting.task_weights"].sum().item() == pytest.approx(4.0)
