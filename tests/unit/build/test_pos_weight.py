"""``loss.pos_weight``: null, a number, a per-task mapping or ``auto`` (negatives / positives among the labelled
training entries); it weighs the positive entries' loss, and a rebuilt checkpoint restores the resolved weights."""

from __future__ import annotations

import pytest
import torch

from mtlkit.build import build_datamodule, build_module, module_from_checkpoint
from mtlkit.build.builders import resolve_pos_weight
from mtlkit.errors import ConfigError
from mtlkit.objective.masked_bce import masked_bce_terms_per_task
from mtlkit.run import train
from mtlkit.runtime.checkpoints import load_checkpoint
from tests.conftest import TINY
from tests.helpers import compose_config

TASKS = ["a", "b", "c"]
COUNTS = {"train": {"a": {"pos": 10, "neg": 30}, "b": {"pos": 0, "neg": 40}, "c": {"pos": 20, "neg": 20}}}


def test_every_form_resolves_to_one_weight_per_task():
    assert resolve_pos_weight(None, TASKS) is None
    assert torch.equal(resolve_pos_weight(2, TASKS), torch.tensor([2.0, 2.0, 2.0]))
    assert torch.equal(resolve_pos_weight({"b": 4}, TASKS), torch.tensor([1.0, 4.0, 1.0]))
    assert torch.equal(resolve_pos_weight("auto", TASKS, COUNTS), torch.tensor([3.0, 1.0, 1.0]))  # b: no positive
    assert torch.equal(resolve_pos_weight("auto", TASKS), torch.ones(3))  # rebuilt from a checkpoint: overwritten


@pytest.mark.parametrize(
    "value, match", [(0, "> 0"), ({"bus": 2}, r"unknown task\(s\) \['bus'\]"), ("often", "auto"), (True, "auto")]
)
def test_bad_values_name_the_fix(value, match):
    with pytest.raises(ConfigError, match=match):
        resolve_pos_weight(value, TASKS, COUNTS)


def test_positive_entries_weigh_pos_weight_times_and_masked_entries_nothing():
    logits = torch.tensor([[0.3, -1.0], [2.0, 0.5], [-0.7, 1.5]])
    y = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    mask = torch.tensor([[True, True], [True, False], [True, True]])
    w = torch.tensor([3.0, 0.5])
    sums, _ = masked_bce_terms_per_task(logits, y, mask, pos_weight=w)
    plain = torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none")
    expected = (torch.where(y > 0, w * plain, plain) * mask).sum(0)
    torch.testing.assert_close(sums, expected)


def test_auto_is_computed_from_the_training_labels_and_restored_from_the_checkpoint(tmp_path):
    cfg = compose_config([*TINY, "loss.pos_weight=auto", "data.prevalence=0.2"], tmp_path)
    train(cfg)
    dm = build_datamodule(cfg.data)
    counts = dm.label_counts()["train"]
    expected = torch.tensor([counts[t]["neg"] / counts[t]["pos"] for t in dm.tasks])
    module = build_module(cfg, dm.input_shape, dm.tasks, label_counts=dm.label_counts())
    torch.testing.assert_close(module.pos_weight, expected)
    rebuilt = module_from_checkpoint(*load_checkpoint(tmp_path))
    torch.testing.assert_close(rebuilt.pos_weight, expected)
