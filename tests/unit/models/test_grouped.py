"""approach=grouped's module: singletons compute exactly what separate networks do, one group exactly what one
shared network does, and a group never depends on another group's labels."""

from __future__ import annotations

import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mtlkit.errors import ConfigError
from mtlkit.models.backbones import CNN
from mtlkit.models.grouped import GroupedBackbones, GroupedModule, check_groups
from mtlkit.models.module import MultiTaskModule
from mtlkit.models.separate import SeparateBackbones, SeparateModule
from mtlkit.objective.weighting.famo import FAMO
from mtlkit.objective.weighting.grouped import GroupedWeighting

TASKS = ["a", "b", "c", "d"]
SHAPE = (3, 8, 8)


def _adamw(params):
    return torch.optim.AdamW(params, lr=0.05, weight_decay=0.01)


def _factory():
    return CNN(SHAPE, width=4, depth=2)


def _grouped(groups, seed: int = 0, **kw) -> GroupedModule:
    torch.manual_seed(seed)
    return GroupedModule(GroupedBackbones.build(_factory, TASKS, groups), TASKS, groups, optimizer=_adamw, **kw)


def _batch(seed: int, n: int = 16) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(n, len(TASKS), generator=g) < 0.6
    y = torch.where(mask, (torch.rand(n, len(TASKS), generator=g) < 0.5).float(), 0.0)
    return {"x": torch.randn(n, *SHAPE, generator=g), "y": y, "mask": mask}


def _step(module, batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    module.zero_grad(set_to_none=True)
    with warnings.catch_warnings():  # self.log without a Trainer: warns, logs nothing
        warnings.simplefilter("ignore")
        loss = module.training_step(batch, 0)
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in module.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("normalization", ["examples", "labels"])
@pytest.mark.parametrize("head_layers", [1, 2])
def test_singleton_groups_are_separate_networks_exactly(normalization, head_layers):
    batch = _batch(1)
    kw = dict(loss_normalization=normalization, head_layers=head_layers)
    grouped = _grouped([[t] for t in TASKS], **kw)
    torch.manual_seed(0)
    separate = SeparateModule(SeparateBackbones.build(_factory, TASKS), TASKS, optimizer=_adamw, **kw)
    assert grouped.state_dict().keys() == separate.state_dict().keys()
    assert all(torch.equal(a, b) for a, b in zip(grouped.state_dict().values(), separate.state_dict().values()))
    loss_g, grads_g = _step(grouped, batch)
    loss_s, grads_s = _step(separate, batch)
    assert torch.equal(loss_g, loss_s)
    assert grads_g.keys() == grads_s.keys() and all(torch.equal(grads_g[k], grads_s[k]) for k in grads_g)
    assert torch.equal(grouped(batch["x"]), separate(batch["x"]))


@pytest.mark.parametrize("normalization", ["examples", "labels"])
def test_one_group_is_the_shared_network_exactly(normalization):
    batch = _batch(2)
    grouped = _grouped([TASKS], loss_normalization=normalization)
    torch.manual_seed(0)
    shared = MultiTaskModule(_factory(), TASKS, optimizer=_adamw, loss_normalization=normalization)
    rename = {k.replace("backbone.networks.0.", "backbone."): v for k, v in grouped.state_dict().items()}
    assert rename.keys() == shared.state_dict().keys()
    assert all(torch.equal(rename[k], v) for k, v in shared.state_dict().items())
    loss_g, grads_g = _step(grouped, batch)
    loss_s, grads_s = _step(shared, batch)
    assert torch.equal(loss_g, loss_s)
    assert all(torch.equal(grads_g[k.replace("backbone.", "backbone.networks.0.", 1)], v) for k, v in grads_s.items())


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), normalization=st.sampled_from(["examples", "labels"]))
def test_a_group_never_depends_on_another_groups_labels(seed, normalization):
    """Changing the labels of group [c, d] changes nothing in the gradients of group [a, b]'s network and heads."""
    module = _grouped([["a", "b"], ["c", "d"]], loss_normalization=normalization)
    batch = _batch(seed)
    other = dict(batch)
    g = torch.Generator().manual_seed(seed + 1)
    other["mask"] = batch["mask"].clone()
    other["mask"][:, 2:] = torch.rand(len(batch["y"]), 2, generator=g) < 0.5
    other["y"] = batch["y"].clone()
    other["y"][:, 2:] = (torch.rand(len(batch["y"]), 2, generator=g) < 0.5).float()
    _, before = _step(module, batch)
    _, after = _step(module, other)
    for name, grad in before.items():
        if name.startswith("backbone.networks.0."):
            assert torch.equal(grad, after[name]), name
        elif name.startswith("heads."):
            assert torch.equal(grad[:2], after[name][:2]), name


def test_groups_are_checked_in_one_line():
    with pytest.raises(ConfigError, match="unknown task 'x'"):
        check_groups([["a", "b"], ["c", "x"]], TASKS)
    with pytest.raises(ConfigError, match="'b' is in approach.groups twice"):
        check_groups([["a", "b"], ["b", "c", "d"]], TASKS)
    with pytest.raises(ConfigError, match=r"\['d'\] are in no group"):
        check_groups([["a", "b"], ["c"]], TASKS)
    with pytest.raises(ConfigError, match="list of lists"):
        check_groups("a,b", TASKS)
    with pytest.raises(ConfigError, match="non-empty list"):
        check_groups([["a", "b", "c", "d"], []], TASKS)
    assert check_groups([["d", "a"], ["b"], ["c"]], TASKS) == [["d", "a"], ["b"], ["c"]]


def test_features_come_from_each_tasks_group_network():
    module = _grouped([["a", "c"], ["b", "d"]])
    x = _batch(3)["x"]
    features = module.backbone(x)
    for j, net in zip([0, 1, 0, 1], TASKS):
        assert torch.equal(features[:, TASKS.index(net)], module.backbone.networks[j](x))


def test_a_weighting_acts_inside_each_group():
    """FAMO per group: each group's weights are normalised among its own tasks, and depend only on its losses."""
    weighting = GroupedWeighting(TASKS, [["a", "b"], ["c", "d"]], lambda ts: FAMO(ts))
    module = _grouped([["a", "b"], ["c", "d"]], weighting=weighting)
    _step(module, _batch(4))
    w = weighting.weights()
    assert torch.allclose(w[:2].sum(), torch.tensor(1.0)) and torch.allclose(w[2:].sum(), torch.tensor(1.0))
    first = w[:2].clone()
    changed = _batch(4)
    changed["y"][:, 2:] = 1 - changed["y"][:, 2:]
    _step(module, changed)
    assert torch.equal(weighting.weights()[:2], first)
