"""``weighting.jacobian=representation``: the direction aggregated from the Jacobian of the shared features,
backpropagated through the backbone once; the heads train on the summed loss, as with the exact method."""

from __future__ import annotations

import pytest
import torch

from mtlkit.build import build_datamodule
from mtlkit.errors import ConfigError
from mtlkit.objective.weighting.torchjd_aggregator import TorchJDAggregator
from tests.conftest import TINY
from tests.helpers import compose_config
from tests.helpers.weightings import UnitNormMean
from tests.unit.objective.test_weighting_seam import GRADIENT, _fit


def test_the_representation_direction_trains_the_backbone(tmp_path):
    cfg = compose_config([*TINY, *GRADIENT, "scheduler=none", "+weighting.jacobian=representation"], tmp_path)
    dm = build_datamodule(cfg.data)
    initial, module, _, record = _fit(cfg, dm, steps=1)
    assert module.weighting.jacobian == "representation"
    batch = record.batches[0]
    features = initial.backbone(batch["x"])
    losses = initial.objective.task_losses(initial.heads(features), batch["y"], batch["mask"])
    shares = losses.shares()
    rows = torch.stack([torch.autograd.grad(shares[j], features, retain_graph=True)[0].reshape(-1) for j in range(4)])
    direction = UnitNormMean(dm.tasks).aggregate(rows, losses).view_as(features)
    shared = list(initial.backbone.parameters())
    expected = torch.autograd.grad(features, shared, grad_outputs=direction, retain_graph=True)
    for p0, p1, g in zip(shared, module.backbone.parameters(), expected):
        torch.testing.assert_close(p0.detach() - p1.detach(), g, rtol=1e-5, atol=1e-7)  # SGD, lr 1
    head_grad = torch.autograd.grad(losses.combine(), list(initial.heads.parameters()))
    for p0, p1, g in zip(initial.heads.parameters(), module.heads.parameters(), head_grad):
        torch.testing.assert_close(p0.detach() - p1.detach(), g, rtol=1e-5, atol=1e-7)


def test_a_torchjd_method_trains_on_the_representation(tmp_path):
    cfg = compose_config(
        [*TINY, "weighting=upgrad", "weighting.jacobian=representation", "callbacks.early_stopping=null"], tmp_path
    )
    dm = build_datamodule(cfg.data)
    initial, module, _, _ = _fit(cfg, dm, steps=2)
    assert "on the shared features" in module.weighting.describe()
    moved = [not torch.equal(a, b) for a, b in zip(initial.backbone.parameters(), module.backbone.parameters())]
    assert all(moved)


def test_an_unknown_jacobian_is_refused():
    with pytest.raises(ConfigError, match="weighting.jacobian"):
        TorchJDAggregator(["a", "b"], "torchjd.aggregation.UPGrad", jacobian="features")
