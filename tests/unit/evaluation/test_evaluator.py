"""The Evaluator a module owns: its epoch metrics equal scikit-learn's on the labelled entries, eval.threshold=val_f1
chooses thresholds on val and scores test with them, it is built from eval.* by the builder, and its thresholds
travel through checkpoints."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, average_precision_score, f1_score, roc_auc_score

from mtlkit.build.builders import build_module
from mtlkit.errors import ConfigError
from mtlkit.evaluation.evaluator import Evaluator
from mtlkit.evaluation.thresholds import best_f1_threshold
from tests.conftest import TINY
from tests.helpers import compose_config

TASKS = ["a", "b", "c"]


def _logit(p: torch.Tensor) -> torch.Tensor:
    return torch.log(p) - torch.log1p(-p)


def _batch(seed: int, n: int = 40) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Logits, labels and mask of ``n`` examples; task c has only negatives among its labelled entries."""
    g = torch.Generator().manual_seed(seed)
    probs = torch.rand(n, 3, generator=g).clamp(0.01, 0.99)
    y = (torch.rand(n, 3, generator=g) < 0.4).float()
    y[:, 2] = 0.0
    y[:2, :2] = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # both classes in a and b
    mask = torch.rand(n, 3, generator=g) < 0.7
    mask[:2] = True
    return _logit(probs), y * mask, mask


def _run_epoch(evaluator: Evaluator, split: str, batch, cuts=(13, 27)) -> dict:
    logits, y, mask = batch
    edges = [0, *cuts, len(y)]
    for lo, hi in zip(edges, edges[1:]):
        evaluator.update(split, logits[lo:hi], y[lo:hi], mask[lo:hi], torch.tensor(0.5), hi - lo)
    return evaluator.epoch_end(split)


def test_epoch_metrics_equal_scikit_learn_on_the_labelled_entries():
    evaluator = Evaluator(TASKS, threshold=0.4)
    batch = _batch(0)
    logged = _run_epoch(evaluator, "val", batch)
    res = evaluator.results["val"]
    logits, y, mask = batch
    probs = torch.sigmoid(logits).double().numpy()
    for j, task in enumerate(["a", "b"]):
        m = mask[:, j].numpy()
        truth, p = y[m, j].numpy(), probs[m, j]
        row = res["per_task"][task]
        assert row["auroc"] == pytest.approx(roc_auc_score(truth, p), abs=1e-12)
        assert row["ap"] == pytest.approx(average_precision_score(truth, p), abs=1e-12)
        assert row["acc"] == pytest.approx(accuracy_score(truth, p > 0.4), abs=1e-12)
        assert row["f1"] == pytest.approx(f1_score(truth, p > 0.4), abs=1e-12)
        assert row["n_labelled"] == int(m.sum())
    assert math.isnan(res["per_task"]["c"]["auroc"]) and res["undefined"]["auroc"] == 1  # one class: undefined
    assert res["macro"]["auroc"] == pytest.approx(np.mean([res["per_task"][t]["auroc"] for t in ("a", "b")]))
    assert logged["val/auroc_macro"] == (res["macro"]["auroc"], True)  # on the progress bar
    assert float(logged["val/loss"][0]) == pytest.approx(0.5)
    assert {f"val/f1/{t}" for t in TASKS} <= set(logged) and "val/lrap" in logged


def test_val_f1_thresholds_chosen_on_val_score_test():
    evaluator = Evaluator(TASKS, threshold="val_f1")
    val, test = _batch(1), _batch(2)
    _run_epoch(evaluator, "val", val)
    chosen = evaluator.results["val"]["thresholds"]
    probs = torch.sigmoid(val[0])
    for j, task in enumerate(["a", "b"]):
        m = val[2][:, j]
        assert chosen["values"][task] == best_f1_threshold(probs[m, j], val[1][m, j])
    assert chosen["fallback"] == ["c"] and chosen["values"]["c"] == 0.5  # no labelled positive
    _run_epoch(evaluator, "test", test)
    res = evaluator.results["test"]
    assert res["thresholds"]["values"] == chosen["values"]  # test does not choose its own
    test_probs = torch.sigmoid(test[0]).double().numpy()
    for j, task in enumerate(["a", "b"]):
        m = test[2][:, j].numpy()
        decided = test_probs[m, j] > chosen["values"][task]
        assert res["per_task"][task]["f1"] == pytest.approx(f1_score(test[1][m, j].numpy(), decided), abs=1e-12)


def test_val_f1_before_any_validation_scores_test_at_one_half_and_says_so():
    evaluator = Evaluator(TASKS, threshold="val_f1")
    evaluator.update("val", *_batch(1), torch.tensor(0.5), 40)
    evaluator.epoch_end("val", choose_thresholds=False)  # the sanity check chooses nothing
    assert evaluator.checkpoint_entry() is None
    _run_epoch(evaluator, "test", _batch(2))
    assert "not chosen yet" in evaluator.results["test"]["thresholds"]["note"]
    assert set(evaluator.results["test"]["thresholds"]["values"].values()) == {0.5}


@settings(max_examples=20, deadline=None)
@given(cuts=st.lists(st.integers(1, 39), max_size=4, unique=True), seed=st.integers(0, 1000))
def test_results_do_not_depend_on_how_the_epoch_is_cut_into_batches(cuts, seed):
    whole, parts = Evaluator(TASKS, "val_f1"), Evaluator(TASKS, "val_f1")
    batch = _batch(seed)
    _run_epoch(whole, "val", batch, cuts=())
    _run_epoch(parts, "val", batch, cuts=tuple(sorted(cuts)))
    a, b = whole.results["val"], parts.results["val"]
    # torch's sigmoid may differ in the last float32 bit with the batch's length (vectorised body, scalar tail)
    assert a["thresholds"]["values"] == pytest.approx(b["thresholds"]["values"], abs=1e-6)
    assert a["thresholds"]["fallback"] == b["thresholds"]["fallback"]
    for task in TASKS:
        assert a["per_task"][task] == pytest.approx(b["per_task"][task], abs=1e-6, nan_ok=True)


def test_states_are_reset_after_each_epoch():
    evaluator = Evaluator(TASKS)
    _run_epoch(evaluator, "val", _batch(0))
    first = evaluator.results["val"]["per_task"]["a"]["auroc"]
    _run_epoch(evaluator, "val", _batch(3))
    assert evaluator.results["val"]["per_task"]["a"]["n_labelled"] == int(_batch(3)[2][:, 0].sum())
    assert evaluator.results["val"]["per_task"]["a"]["auroc"] != first


def test_thresholds_travel_through_the_checkpoint_only_for_val_f1():
    chooser = Evaluator(TASKS, "val_f1")
    _run_epoch(chooser, "val", _batch(1))
    saved = chooser.checkpoint_entry()
    restored = Evaluator(TASKS, "val_f1")
    restored.restore(saved)
    assert restored.decision_thresholds == saved
    fixed = Evaluator(TASKS, 0.3)
    fixed.restore(saved)  # a run with a fixed threshold keeps its own
    assert fixed.decision_thresholds["values"] == {t: 0.3 for t in TASKS}


def test_a_bad_threshold_is_one_line_naming_the_fix():
    with pytest.raises(ConfigError, match=r"eval.threshold=1.5: give a probability") as err:
        Evaluator.from_config({"threshold": 1.5}, TASKS)
    assert len(str(err.value).splitlines()) == 1
    assert Evaluator.from_config(None, TASKS).rule == 0.5 and Evaluator.from_config({}, TASKS).rule == 0.5


def test_the_builder_makes_the_evaluator_from_eval_threshold(tmp_path):
    cfg = compose_config([*TINY, "eval.threshold=val_f1"], tmp_path)
    module = build_module(cfg, [3, 32, 32], ["a", "b"])
    assert module.evaluator.rule == "val_f1" and module.evaluator.decision_thresholds is None
    cfg = compose_config([*TINY, "eval.threshold=0.3"], tmp_path)
    assert build_module(cfg, [3, 32, 32], ["a", "b"]).evaluator.decision_thresholds["values"] == {"a": 0.3, "b": 0.3}
