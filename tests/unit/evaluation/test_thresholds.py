"""Decision thresholds: eval.threshold checked, val_f1 reaches the best F1 any threshold can, the fallback of a task
without positives, and which thresholds mtlkit-predict takes from a checkpoint."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import f1_score, precision_recall_curve

from mtlkit.errors import ConfigError
from mtlkit.evaluation.metrics import MaskedMultilabelMetrics
from mtlkit.evaluation.thresholds import (
    best_f1_threshold,
    checkpoint_thresholds,
    choose_f1_thresholds,
    rule_of_config,
    threshold_rule,
)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 80), rate=st.floats(0.05, 0.9), levels=st.sampled_from([5, 1000]))
def test_val_f1_threshold_reaches_the_best_f1_of_any_threshold(seed, n, rate, levels):
    g = torch.Generator().manual_seed(seed)
    probs = (torch.rand(n, generator=g) * levels).floor() / levels  # levels=5: many ties
    y = (torch.rand(n, generator=g) < rate).long()
    y[0] = 1
    t = best_f1_threshold(probs, y)
    precision, recall, _ = precision_recall_curve(y.numpy(), probs.numpy())
    with np.errstate(invalid="ignore", divide="ignore"):
        best = np.nanmax(2 * precision * recall / (precision + recall))
    assert f1_score(y.numpy(), (probs.double() > t).numpy()) == pytest.approx(best, abs=1e-9)
    assert -1e-300 < t < 1.0


def test_among_equally_good_thresholds_the_one_nearest_one_half_is_taken():
    probs = torch.tensor([0.9, 0.7, 0.3, 0.1])
    y = torch.tensor([1, 1, 0, 0])
    assert best_f1_threshold(probs, y) == pytest.approx(0.5)  # any t in [0.3, 0.7) separates them: midpoint 0.5
    assert best_f1_threshold(torch.tensor([0.95, 0.9]), torch.tensor([1, 1])) == pytest.approx(0.45)


def test_a_task_without_a_labelled_positive_keeps_one_half_and_is_listed():
    probs = torch.tensor([[0.9, 0.8], [0.2, 0.1], [0.6, 0.95]])
    y = torch.tensor([[1, 1], [0, 0], [1, 0]])
    mask = torch.tensor([[True, False], [True, True], [True, True]])
    chosen = choose_f1_thresholds(probs, y, mask, ["a", "b"])
    assert chosen["fallback"] == ["b"] and chosen["values"]["b"] == 0.5
    assert chosen["values"]["a"] == pytest.approx(0.4)  # between 0.6 and 0.2


def test_the_metric_object_chooses_on_val_and_scores_with_the_chosen_thresholds():
    g = torch.Generator().manual_seed(4)
    probs = torch.rand(300, 3, generator=g) * 0.4  # every probability < 0.5: F1 at 0.5 is 0
    y = (torch.rand(300, 3, generator=g) < probs * 2).to(torch.int8)
    mask = torch.ones(300, 3, dtype=torch.bool)
    fixed, metric = MaskedMultilabelMetrics(["a", "b", "c"]), MaskedMultilabelMetrics(["a", "b", "c"])
    fixed.update(probs, y, mask)
    assert fixed.compute()["macro"]["f1"] == 0.0
    metric.choose_thresholds = True
    metric.update(probs, y, mask)
    res = metric.compute()
    assert metric.thresholds == res["thresholds"]  # kept: the module hands them on to test
    assert res["thresholds"]["rule"] == "val_f1"
    assert all(t < 0.4 for t in res["thresholds"]["values"].values())
    for j, task in enumerate("abc"):
        decided = probs[:, j].double() > res["thresholds"]["values"][task]
        assert res["per_task"][task]["f1"] == pytest.approx(f1_score(y[:, j].numpy(), decided.numpy()), abs=1e-6)
    assert res["example_based"]["micro_f1"] > 0.3


@pytest.mark.parametrize("bad", ["val_auc", 0, 1, 1.5, -0.1, True, "0.5x"])
def test_a_bad_threshold_is_a_one_line_error_naming_the_choices(bad):
    with pytest.raises(ConfigError, match="val_f1") as err:
        threshold_rule(bad)
    assert "\n" not in str(err.value)


def test_threshold_rules_of_configs():
    assert threshold_rule("val_f1") == "val_f1" and threshold_rule("0.3") == 0.3 and threshold_rule(None) == 0.5
    assert rule_of_config({}) == 0.5 and rule_of_config({"eval": {"threshold": 0.2}}) == 0.2


def test_predict_takes_the_checkpoints_thresholds_or_the_override():
    saved = {"rule": "val_f1", "values": {"a": 0.2, "b": 0.7}, "fallback": []}
    meta = {"tasks": ["a", "b"], "config": {"eval": {"threshold": "val_f1"}}, "eval_threshold": saved}
    assert checkpoint_thresholds(meta)["values"] == {"a": 0.2, "b": 0.7}
    assert checkpoint_thresholds(meta, 0.3)["values"] == {"a": 0.3, "b": 0.3}
    old = {"tasks": ["a"], "config": {}}  # written before thresholds were stored: its config's fixed rule
    assert checkpoint_thresholds(old)["values"] == {"a": 0.5}
    with pytest.raises(ConfigError, match="--threshold"):  # val_f1, saved before any validation
        checkpoint_thresholds({**meta, "eval_threshold": None})
    with pytest.raises(ConfigError, match="between 0 and 1"):
        checkpoint_thresholds(meta, 2.0)


def test_the_end_of_run_tables_show_the_chosen_thresholds_and_the_example_based_metrics():
    from rich.console import Console

    from mtlkit.evaluation.results import print_metrics_table

    g = torch.Generator().manual_seed(2)
    probs, y = torch.rand(50, 2, generator=g), (torch.rand(50, 2, generator=g) < 0.4).float()
    y[:5] = 0  # 5 examples without a positive
    metric = MaskedMultilabelMetrics(["a", "b"])
    metric.choose_thresholds = True
    metric.update(probs, y, torch.ones(50, 2, dtype=torch.bool))
    res = metric.compute()
    console = Console(record=True, width=200)
    print_metrics_table({"val": res, "test": res}, console=console)
    text = console.export_text()
    assert "threshold" in text and f"{res['thresholds']['values']['a']:.3f}" in text and "val_f1" in text
    left_out = res["example_based"]["left_out_examples"]["lrap"]
    assert left_out >= 5 and f"val {left_out}, test {left_out}" in text
    assert "hamming ↓" in text and "lrap ↑" in text
