"""The per-task gradient passes of a gradient method: the same Jacobian and heads' gradients as one backward per
task plus a backward of the summed loss (the former T + 1 passes), on random small networks, task subsets and
absent tasks; the linear surrogate that lets DDP average given gradients."""

from __future__ import annotations

import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import nn

from mtlkit.models.heads import TaskHeads
from mtlkit.objective import MaskedTaskLoss
from mtlkit.objective.task_gradients import linear_surrogate, task_gradients


def _network(seed: int, width: int, depth: int, norm: str, tasks: int, head_layers: int):
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    d = 5
    for _ in range(depth):
        layers += [
            nn.Linear(d, width),
            {"batch": nn.BatchNorm1d(width), "layer": nn.LayerNorm(width)}.get(norm, nn.Identity()),
        ]
        layers.append(nn.ReLU())
        d = width
    backbone = nn.Sequential(*layers)
    heads = TaskHeads(d, [f"t{j}" for j in range(tasks)], layers=head_layers)
    return backbone, heads


def _reference(losses, shared, rest):
    """The former path: one pass per task for the Jacobian, one backward of combine() for the other parameters."""
    shares = losses.shares()
    rows = []
    for j in range(shares.numel()):
        grads = torch.autograd.grad(shares[j], shared, retain_graph=True, allow_unused=True)
        rows.append(torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1) for g, p in zip(grads, shared)]))
    heads = torch.autograd.grad(losses.combine(), rest, retain_graph=True)
    return torch.stack(rows), heads


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    width=st.integers(1, 6),
    depth=st.integers(1, 3),
    norm=st.sampled_from(["none", "batch", "layer"]),
    tasks=st.integers(1, 6),
    head_layers=st.integers(1, 2),
    batch=st.integers(2, 7),
    labelled=st.floats(0.0, 1.0),
    frozen_first=st.booleans(),
)
def test_one_pass_per_task_gives_the_jacobian_and_the_heads_gradients(
    seed, width, depth, norm, tasks, head_layers, batch, labelled, frozen_first
):
    backbone, heads = _network(seed, width, depth, norm, tasks, head_layers)
    if frozen_first:  # a partly frozen backbone (finetune=last_k): only the trainable part is shared
        backbone[0].requires_grad_(False)
    x = torch.randn(batch, 5)
    y = (torch.rand(batch, tasks) < 0.5).float()
    mask = torch.rand(batch, tasks) < labelled  # some tasks absent from the batch, sometimes all
    losses = MaskedTaskLoss("examples", "ignore").task_losses(heads(backbone(x)), y, mask)
    shared = [p for p in backbone.parameters() if p.requires_grad]
    assume(shared)  # a backbone frozen whole: no shared parameter, no Jacobian to compare (the reference needs one)
    rest = list(heads.parameters())
    expected_jacobian, expected_heads = _reference(losses, shared, rest)
    jacobian, head_grads = task_gradients(losses.shares(), shared, rest, losses.present, retain_graph=False)
    torch.testing.assert_close(jacobian, expected_jacobian, rtol=1e-5, atol=1e-7)
    assert torch.all(jacobian[~losses.present] == 0)
    for g, e in zip(head_grads, expected_heads):
        torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-7)


def test_the_cached_jacobian_is_the_one_of_the_step():
    backbone, heads = _network(0, 4, 2, "batch", 3, 1)
    losses = MaskedTaskLoss("examples", "ignore").task_losses(
        heads(backbone(torch.randn(6, 5))), torch.ones(6, 3), torch.ones(6, 3, dtype=torch.bool)
    )
    losses.shared_parameters = list(backbone.parameters())
    expected, _ = _reference(losses, list(backbone.parameters()), list(heads.parameters()))
    jacobian, _ = losses.task_gradients(list(heads.parameters()))
    assert losses.jacobian() is jacobian
    torch.testing.assert_close(jacobian, expected)


def test_the_linear_surrogate_has_the_given_gradients():
    a, b = nn.Parameter(torch.randn(3, 2)), nn.Parameter(torch.randn(4))
    g = torch.randn(3, 2)
    linear_surrogate([a, b], [g, None]).backward()
    assert torch.equal(a.grad, g) and torch.equal(b.grad, torch.zeros(4))
