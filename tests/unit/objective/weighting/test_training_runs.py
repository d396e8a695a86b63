"""Each balancing method trains a tiny run end to end (in-process), with one task never labelled in training, and
writes per-task metrics; the stateful ones continue exactly from a checkpoint."""

from __future__ import annotations

import json

import pytest
import torch

from mtlkit.run import train
from mtlkit.runtime.checkpoints import load_checkpoint
from tests.conftest import TINY
from tests.helpers import compose_config

NEVER_LABELLED = ["data.missing_rate=[0.5,0.5,1.0,0.5]"]  # stop_sign (task 2) has no training label at all
EXTRA = {"static": ["weighting.weights={pedestrian: 4}"]}
STEPS = torch.tensor([4, 4, 0, 4])  # steps with labels per task in the one epoch (4 batches of 64)


def _check_state(name: str, state: dict[str, torch.Tensor]) -> None:
    if name in ("uw", "imtl_l"):
        s = state["weighting.log_vars" if name == "uw" else "weighting.scales"]
        assert s[2] == 0 and torch.all(s[[0, 1, 3]] != 0)
    elif name == "famo":
        assert state["weighting.logits"][2] == 0 and torch.all(state["weighting.logits"][[0, 1, 3]] != 0)
        assert torch.equal(state["weighting.adam_steps"], STEPS)
    elif name == "gradnorm":
        assert state["weighting.has_initial"].tolist() == [True, True, False, True]
        assert state["weighting.task_weights"].sum().item() == pytest.approx(4.0)
    elif name == "dwa":
        assert int(state["weighting.epoch"]) == 0 and torch.equal(state["weighting.epoch_steps"], STEPS.float())


@pytest.mark.parametrize("name", ["static", "task_mean", "uw", "dwa", "rlw", "gradnorm", "famo", "imtl_l"])
def test_a_method_trains_with_a_task_never_labelled_and_writes_per_task_metrics(name, tmp_path):
    res = train(compose_config([*TINY, *NEVER_LABELLED, f"weighting={name}", *EXTRA.get(name, [])], tmp_path))
    assert res["status"] == "completed" and res["global_steps"] == 4
    saved = json.loads((tmp_path / "results.json").read_text())
    for split in ("val", "test"):
        per_task = saved["metrics"][split]["per_task"]
        assert list(per_task) == res["tasks"] == ["pedestrian", "car", "stop_sign", "traffic_light"]
        assert all(per_task[t]["auroc"] is not None for t in res["tasks"])  # complete labels in val and test
    state = load_checkpoint(tmp_path / "checkpoints" / "last.ckpt")[0]["state_dict"]
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())
    _check_state(name, state)


@pytest.mark.parametrize("name", ["dwa", "famo"])
def test_a_stateful_method_continues_exactly_from_a_checkpoint(name, tmp_path):
    """3 epochs straight = 2 epochs, then continued to 3 (DWA's weights differ from 1 only from epoch 3)."""
    args = [*TINY, f"weighting={name}", "scheduler=none", "trainer.deterministic=true"]
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
    if name == "dwa":
        assert not torch.equal(a["weighting.prev_means"], torch.zeros(4))  # two epoch means existed in epoch 3
