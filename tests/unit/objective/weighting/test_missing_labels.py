"""Every balancing method keeps the "?" rule (docs/loss.md, "Balancing methods and missing labels"): a masked entry
never changes the loss, any gradient (of the logits, the network's and the weighting's parameters) or the
weighting's state, whatever its label; a task with no label in a batch gives no NaN or inf and leaves its own
state alone."""

from __future__ import annotations

import copy

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers.weighting_steps import METHODS, TinyNet, batch, names, train_step

# State that may change for a task without labels: GradNorm renormalises all its weights after each step.
SHARED_STATE = {"gradnorm": {"task_weights"}}


def _finite(*tensors: torch.Tensor | None) -> bool:
    return all(x is None or not x.is_floating_point() or bool(torch.isfinite(x).all()) for x in tensors)


def _per_task_state(method: torch.nn.Module, t: int) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in method.state_dict().items() if v.shape == (t,)}


@settings(max_examples=150, deadline=None)
@given(
    name=st.sampled_from(sorted(METHODS)),
    m=st.integers(1, 10),
    t=st.integers(1, 4),
    steps=st.integers(1, 6),
    missing=st.sampled_from([0.0, 0.5, 0.9]),
    absent=st.sampled_from([0.0, 0.3, 1.0]),
    normalization=st.sampled_from(["examples", "labels"]),
    per_task=st.booleans(),
    seed=st.integers(0, 10_000),
)
def test_a_masked_entry_changes_nothing_and_a_task_without_labels_gives_no_nan(
    name, m, t, steps, missing, absent, normalization, per_task, seed
):
    tasks = names(t)
    method, net = METHODS[name](tasks), TinyNet(4, t, seed=seed, normalization=normalization, per_task=per_task)
    other, other_net = copy.deepcopy(method), copy.deepcopy(net)
    gen = torch.Generator().manual_seed(seed)
    for step in range(steps):
        data = batch(m, t, seed=seed + step, missing=missing)
        data["mask"] &= ~(torch.rand(t, generator=gen) < absent)  # some tasks without any label in this batch
        garbage = torch.where(torch.rand(m, t, generator=gen) < 0.5, float("nan"), 7.0)
        changed = {**data, "y": torch.where(data["mask"], data["y"], garbage)}
        epoch = step // 2
        rollover = step % 2 == 0
        before = _per_task_state(method, t)

        loss, grads = train_step(method, net, data, step, epoch)
        loss2, grads2 = train_step(other, other_net, changed, step, epoch)

        assert torch.equal(loss, loss2)
        assert all((a is None and b is None) or torch.equal(a, b) for a, b in zip(grads, grads2))
        state, state2 = method.state_dict(), other.state_dict()
        assert state.keys() == state2.keys() and all(torch.equal(state[k], state2[k]) for k in state)
        assert _finite(loss, *grads, *state.values(), method.weights())
        assert _finite(*(p.detach() for p in net.parameters()))

        gone = ~data["mask"].any(0)  # tasks with no label in this batch
        for p, g in zip(method.parameters(), grads[1 + len(list(net.parameters())) :]):
            if g is not None and p.shape == (t,):
                assert torch.all(g[gone] == 0), "a task without labels moved a parameter of the weighting"
        if name == "dwa" and rollover:
            continue  # a new epoch: the means of the last epoch roll over for every task
        for key, value in _per_task_state(method, t).items():
            if key not in SHARED_STATE.get(name, set()):
                assert torch.equal(value[gone], before[key][gone]), f"{key} changed for a task without labels"


@pytest.mark.parametrize("name", sorted(METHODS))
def test_tasks_without_labels_for_a_long_time_stay_finite(name):
    """Task 0 never has a label, and in one step no task has any: no NaN, no inf, no runaway weight."""
    t = 3
    method, net = METHODS[name](names(t)), TinyNet(4, t, seed=5)
    for step in range(40):
        data = batch(6, t, seed=step, missing=0.3)
        data["mask"][:, 0] = False
        if step == 17:
            data["mask"][:] = False
        loss, grads = train_step(method, net, data, step, step // 5, lr=0.5)
        assert _finite(loss, *grads, *method.state_dict().values(), method.weights())
    for key, value in method.state_dict().items():
        if value.is_floating_point() and value.shape == (t,) and key not in SHARED_STATE.get(name, set()):
            fresh = METHODS[name](names(t)).state_dict()[key]
            assert torch.equal(value[0], fresh[0]), f"{key} of the task that never had a label changed"
