"""A second, independent reference where one exists: with every task labelled, uw, imtl_l, dwa and famo give what
TorchJD's scalarizers (torchjd.scalarization, written from the same papers) give. Skipped without torchjd."""

from __future__ import annotations

import pytest
import torch

from mtlkit.objective.weighting.dwa import DynamicWeightAverage
from mtlkit.objective.weighting.famo import FAMO
from mtlkit.objective.weighting.imtl_l import IMTLLossBalance
from mtlkit.objective.weighting.uw import UncertaintyWeighting
from tests.helpers.weighting_steps import hand_losses

scalarization = pytest.importorskip("torchjd.scalarization")
TASKS = ["a", "b", "c"]


def _losses_of(values: torch.Tensor):
    """TaskLosses whose (differentiable) losses are ``values``."""
    losses = hand_losses([0.0] * len(values), [1] * len(values))
    losses.sums, losses.global_sums = values * 10, values.detach() * 10
    return losses


@pytest.mark.parametrize(
    ("ours", "theirs", "attr"),
    [(UncertaintyWeighting, scalarization.UW, "log_vars"), (IMTLLossBalance, scalarization.IMTLL, "scales")],
)
def test_learned_scales_give_torchjds_loss_and_gradients(ours, theirs, attr):
    gen = torch.Generator().manual_seed(0)
    s = torch.randn(3, generator=gen)
    values = torch.rand(3, generator=gen) + 0.1
    a, b = ours(TASKS), theirs(3)
    with torch.no_grad():
        getattr(a, attr).copy_(s)
        next(b.parameters()).copy_(s)
    la, lb = a(_losses_of(values)), b(values)
    la.backward()
    lb.backward()
    torch.testing.assert_close(la, lb)
    torch.testing.assert_close(getattr(a, attr).grad, next(b.parameters()).grad)


def test_dwa_gives_torchjds_weights_epoch_after_epoch():
    ours, theirs = DynamicWeightAverage(TASKS), scalarization.DWA(temperature=2.0)
    gen = torch.Generator().manual_seed(1)
    for epoch in range(5):
        for _ in range(3):
            values = torch.rand(3, generator=gen) + 0.05
            losses = _losses_of(values)
            losses.epoch = epoch  # ours sees a new epoch from losses.epoch
            torch.testing.assert_close(ours(losses), theirs(values))
        theirs.step()  # TorchJD is told of the epoch's end
    assert not torch.allclose(ours.weights(), torch.ones(3))  # epochs 2 to 4 had weights other than 1


def test_famo_trains_the_network_and_its_logits_as_torchjd_does():
    ours, theirs = FAMO(TASKS), scalarization.FAMO(3)
    gen = torch.Generator().manual_seed(2)
    theta = torch.randn(4, generator=gen)
    a = torch.randn(3, 4, generator=gen)
    for _ in range(8):
        x = theta.clone().requires_grad_(True)
        values = torch.nn.functional.softplus(a @ x)
        losses = _losses_of(values)
        (g_ours,) = torch.autograd.grad(ours(losses), x, retain_graph=True)
        (g_theirs,) = torch.autograd.grad(theirs(values), x)
        torch.testing.assert_close(g_ours, g_theirs)
        theta = theta - 0.3 * g_ours
        after = torch.nn.functional.softplus(a @ theta)
        theirs.update(after)
        ours.after_step(_Fixed(after), {}, losses)
        torch.testing.assert_close(ours.logits, next(theirs.parameters()).detach(), rtol=1e-5, atol=1e-7)
    assert not torch.allclose(ours.logits, torch.zeros(3))


class _Fixed(torch.nn.Module):
    def __init__(self, values: torch.Tensor):
        super().__init__()
        self.values = values

    def task_losses(self, batch):
        return _losses_of(self.values)
