"""Properties a loss weighting states by inheriting them, as TorchJD's aggregator tests do: a method's test class
names its factory and the mixins whose tests it must pass, so a new method adds its own class and edits no list.

    class TestUW(KeepsTheMissingLabelRule, Stateful, TrainsWithATaskNeverLabelled):
        make = staticmethod(UncertaintyWeighting)
        config = "uw"

What the properties assert is docs/loss.md's contract ("Balancing methods and missing labels", the seam's state).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Sequence
from typing import ClassVar

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtlkit.objective.weighting.base import Weighting
from tests.conftest import TINY
from tests.helpers.weighting_steps import TinyNet, assert_resumes_exactly, batch, names, train_step

NEVER_LABELLED = ["data.missing_rate=[0.5,0.5,1.0,0.5]"]  # stop_sign (task 2) has no training label at all
STEPS_WITH_LABELS = torch.tensor([4, 4, 0, 4])  # steps with labels per task in that run's epoch (4 batches of 64)


class WeightingCase:
    """What every property needs: ``make(tasks)`` builds the method (with the hyper-parameters the tests use)."""

    make: ClassVar[Callable[[Sequence[str]], Weighting]]


def _finite(*tensors: torch.Tensor | None) -> bool:
    return all(x is None or not x.is_floating_point() or bool(torch.isfinite(x).all()) for x in tensors)


def _per_task_state(method: torch.nn.Module, t: int) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in method.state_dict().items() if v.shape == (t,)}


class KeepsTheMissingLabelRule(WeightingCase):
    """A masked entry never changes the loss, any gradient (of the logits, the network's and the weighting's
    parameters) or the weighting's state, whatever its label; a task with no label in a batch gives no NaN or inf
    and leaves its own state alone."""

    shared_state: ClassVar[frozenset[str]] = frozenset()  # per-task state renormalised over all tasks (GradNorm)
    new_epoch_moves_every_task: ClassVar[bool] = False  # state that rolls over for every task at an epoch (DWA)

    # one test, run by every class that states the property: Hypothesis would refuse the differing `self`s
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.differing_executors])
    @given(
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
        self, m, t, steps, missing, absent, normalization, per_task, seed
    ):
        tasks = names(t)
        method, net = self.make(tasks), TinyNet(4, t, seed=seed, normalization=normalization, per_task=per_task)
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
            if self.new_epoch_moves_every_task and rollover:
                continue  # a new epoch: the means of the last epoch roll over for every task
            for key, value in _per_task_state(method, t).items():
                if key not in self.shared_state:
                    assert torch.equal(value[gone], before[key][gone]), f"{key} changed for a task without labels"

    def test_tasks_without_labels_for_a_long_time_stay_finite(self):
        """Task 0 never has a label, and in one step no task has any: no NaN, no inf, no runaway weight."""
        t = 3
        method, net = self.make(names(t)), TinyNet(4, t, seed=5)
        for step in range(40):
            data = batch(6, t, seed=step, missing=0.3)
            data["mask"][:, 0] = False
            if step == 17:
                data["mask"][:] = False
            loss, grads = train_step(method, net, data, step, step // 5, lr=0.5)
            assert _finite(loss, *grads, *method.state_dict().values(), method.weights())
        for key, value in method.state_dict().items():
            if value.is_floating_point() and value.shape == (t,) and key not in self.shared_state:
                fresh = self.make(names(t)).state_dict()[key]
                assert torch.equal(value[0], fresh[0]), f"{key} of the task that never had a label changed"


class Stateful(WeightingCase):
    """Keeps state in its state_dict (buffers, parameters, extra state), and a run saved mid-way and reloaded into
    fresh objects goes on exactly as without the save."""

    def test_keeps_state_and_resumes_exactly(self):
        assert self.make(names(3)).state_dict(), "a stateful method keeps no state in its state_dict"
        assert_resumes_exactly(self.make)


class Stateless(WeightingCase):
    """Keeps no state (its weights follow from its hyper-parameters, the batch and the step), so a resumed run is the
    same run."""

    def test_keeps_no_state_and_resumes_exactly(self):
        assert not self.make(names(3)).state_dict()
        assert_resumes_exactly(self.make)


class RunsThroughTheCLI(WeightingCase):
    """``config``: the method's name in conf/weighting/; ``overrides``: what its runs add (e.g. its weights)."""

    config: ClassVar[str]
    overrides: ClassVar[Sequence[str]] = ()


class TrainsWithATaskNeverLabelled(RunsThroughTheCLI):
    """``weighting=<config>`` trains a tiny run end to end (in-process) with one task never labelled in training,
    writes per-task metrics and leaves finite state in the checkpoint; ``check_trained_state`` adds the method's own
    expectations of that state."""

    def check_trained_state(self, state: dict[str, torch.Tensor]) -> None:
        """The method's state after that run (``weighting.*`` keys; task 2 never labelled); nothing by default."""

    def test_trains_with_a_task_never_labelled_and_writes_per_task_metrics(self, tmp_path):
        from mtlkit.run import train
        from mtlkit.runtime.checkpoints import load_checkpoint
        from tests.helpers import compose_config

        args = [*TINY, *NEVER_LABELLED, f"weighting={self.config}", *self.overrides]
        res = train(compose_config(args, tmp_path))
        assert res["status"] == "completed" and res["global_steps"] == 4
        saved = json.loads((tmp_path / "results.json").read_text())
        for split in ("val", "test"):
            per_task = saved["metrics"][split]["per_task"]
            assert list(per_task) == res["tasks"] == ["pedestrian", "car", "stop_sign", "traffic_light"]
            assert all(per_task[t]["auroc"] is not None for t in res["tasks"])  # complete labels in val and test
        state = load_checkpoint(tmp_path / "checkpoints" / "last.ckpt")[0]["state_dict"]
        assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())
        self.check_trained_state(state)


class ContinuesExactlyFromACheckpoint(RunsThroughTheCLI):
    """3 epochs straight equal 2 epochs, then continued to 3, through ``mtlkit-train``'s checkpoints;
    ``check_continued_state`` adds what must have happened by then."""

    def check_continued_state(self, state: dict[str, torch.Tensor]) -> None:
        """The state after the 3 epochs; nothing by default."""

    def test_continues_exactly_from_a_checkpoint(self, tmp_path):
        from mtlkit.run import train
        from mtlkit.runtime.checkpoints import load_checkpoint
        from tests.helpers import compose_config

        args = [*TINY, f"weighting={self.config}", *self.overrides, "scheduler=none", "trainer.deterministic=true"]
        train(compose_config([*args, "trainer.max_epochs=3"], tmp_path / "straight"))
        train(compose_config([*args, "trainer.max_epochs=2"], tmp_path / "resumed"))
        train(compose_config([*args, "trainer.max_epochs=3"], tmp_path / "resumed"))
        a, b = (
            load_checkpoint(tmp_path / run / "checkpoints" / "last.ckpt")[0]["state_dict"]
            for run in ("straight", "resumed")
        )
        keys = [k for k in a if k.startswith("weighting.")]
        assert keys
        for key in keys:
            torch.testing.assert_close(b[key], a[key], rtol=0, atol=1e-6, msg=key)
        self.check_continued_state(a)
