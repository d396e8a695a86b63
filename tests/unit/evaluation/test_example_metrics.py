"""Example-based multi-label metrics: scikit-learn's values on complete labels, each example scored on its labelled
entries alone with "?", examples left out counted, unchanged by "?" entries' scores, by example order and batching."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from mtlkit.evaluation.example_metrics import EXAMPLE_METRICS, coverage, example_based_metrics, one_error, ranking_loss
from mtlkit.evaluation.metrics import MaskedMultilabelMetrics, task_metrics


def _data(seed: int, n: int = 60, t: int = 5, rate: float = 0.4, missing: float = 0.0):
    g = torch.Generator().manual_seed(seed)
    probs = torch.rand(n, t, generator=g)
    y = (torch.rand(n, t, generator=g) < rate).to(torch.int8)
    mask = torch.rand(n, t, generator=g) >= missing
    return probs, y, mask


def _metrics(probs, y, mask, thresholds=0.5):
    t = probs.shape[1]
    thresholds = [thresholds] * t if isinstance(thresholds, float) else thresholds
    f1 = [
        row["f1"] for row in task_metrics(probs, y, mask, [f"t{j}" for j in range(t)], thresholds)["per_task"].values()
    ]
    return example_based_metrics(probs, y, mask, thresholds, f1)


def _one_error_by_hand(y: np.ndarray, p: np.ndarray) -> float:
    """The textbook one-error: the share of examples whose top-scored label is not relevant."""
    return float(np.mean(y[np.arange(len(y)), p.argmax(1)] == 0))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), t=st.integers(2, 7), rate=st.floats(0.1, 0.9))
def test_complete_labels_equal_scikit_learn(seed, t, rate):
    probs, y, mask = _data(seed, t=t, rate=rate)
    y[:, 0], y[:, 1] = 1, 0  # every example has a positive and a negative: no example is left out anywhere
    yn, pn = y.numpy().astype(int), probs.numpy()
    thresholds = [0.3 + 0.1 * j for j in range(t)]
    decided = pn > np.array(thresholds)
    res = _metrics(probs, y, mask, thresholds)
    assert res["hamming"] == pytest.approx(skm.hamming_loss(yn, decided), abs=1e-6)
    assert res["lrap"] == pytest.approx(skm.label_ranking_average_precision_score(yn, pn), abs=1e-6)
    assert res["ranking_loss"] == pytest.approx(skm.label_ranking_loss(yn, pn), abs=1e-6)
    assert res["coverage"] == pytest.approx(skm.coverage_error(yn, pn), abs=1e-6)
    assert res["one_error"] == pytest.approx(_one_error_by_hand(yn, pn), abs=1e-9)
    assert res["micro_f1"] == pytest.approx(skm.f1_score(yn, decided, average="micro"), abs=1e-6)
    defined = yn.sum(0) > 0  # macro-F1: scikit-learn's per-label F1, over the labels with a positive
    per_label = skm.f1_score(yn, decided, average=None, zero_division=0)
    assert res["macro_f1"] == pytest.approx(per_label[defined].mean(), abs=1e-6)
    assert res["left_out_examples"] == dict.fromkeys(res["left_out_examples"], 0)
    assert res["n_examples"] == len(yn)


def test_examples_without_a_positive_or_negative_are_left_out_and_counted():
    """scikit-learn scores them (LRAP 1, ranking loss and coverage 0); mtlkit leaves them out: the values equal
    scikit-learn's on the other examples, and the counts say how many."""
    probs, y, mask = _data(3, n=80, t=4, rate=0.3)
    y[15:, 0], y[15:, 1] = 1, 0  # a positive and a negative ...
    y[:10] = 0  # ... except for 10 examples with no positive
    y[10:15] = 1  # and 5 with no negative
    res = _metrics(probs, y, mask)
    yn, pn = y.numpy().astype(int), probs.numpy()
    pos, both = yn.sum(1) > 0, (yn.sum(1) > 0) & (yn.sum(1) < 4)
    assert res["left_out_examples"] == {"hamming": 0, "lrap": 10, "ranking_loss": 15, "one_error": 10, "coverage": 10}
    assert res["lrap"] == pytest.approx(skm.label_ranking_average_precision_score(yn[pos], pn[pos]), abs=1e-6)
    assert res["ranking_loss"] == pytest.approx(skm.label_ranking_loss(yn[both], pn[both]), abs=1e-6)
    assert res["coverage"] == pytest.approx(skm.coverage_error(yn[pos], pn[pos]), abs=1e-6)
    assert res["one_error"] == pytest.approx(_one_error_by_hand(yn[pos], pn[pos]), abs=1e-9)
    # scikit-learn's own value, which counts the left-out examples, differs
    assert res["lrap"] != pytest.approx(skm.label_ranking_average_precision_score(yn, pn), abs=1e-3)


def _row(fn, single: float):
    """``fn`` on one example's row; ``single`` where the row has one entry (scikit-learn's ranking functions take
    two labels or more; a lone labelled positive is ranked first: LRAP 1, coverage 1, one-error 0)."""
    return lambda a, b: single if a.shape[1] == 1 else fn(a, b)


def _per_example(fn, y, p, m, keep):
    """Mean over the examples ``keep`` accepts of ``fn`` on that example's labelled entries alone (one row)."""
    vals = []
    for yi, pi, mi in zip(y, p, m):
        yl, pl = yi[mi], pi[mi]
        if keep(yl):
            vals.append(fn(yl[None, :], pl[None, :]))
    return float(np.mean(vals)), len(y) - len(vals)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), missing=st.floats(0.1, 0.8))
def test_with_unknown_labels_each_example_is_scored_on_its_labelled_entries(seed, missing):
    probs, y, mask = _data(seed, n=50, t=6, missing=missing)
    res = _metrics(probs, y, mask, 0.4)
    yn, pn, mn = y.numpy().astype(int), probs.numpy(), mask.numpy()
    has_pos = lambda yl: yl.sum() > 0  # noqa: E731
    cases = {
        "hamming": (lambda a, b: skm.hamming_loss(a[0], b[0] > 0.4), lambda yl: len(yl) > 0),
        "lrap": (_row(skm.label_ranking_average_precision_score, 1.0), has_pos),
        "ranking_loss": (skm.label_ranking_loss, lambda yl: 0 < yl.sum() < len(yl)),
        "coverage": (_row(skm.coverage_error, 1.0), has_pos),
        "one_error": (_one_error_by_hand, has_pos),
    }
    for name, (fn, keep) in cases.items():
        if not any(keep(yi[mi]) for yi, mi in zip(yn, mn)):
            assert math.isnan(res[name])
            continue
        value, left_out = _per_example(fn, yn, pn, mn, keep)
        assert res[name] == pytest.approx(value, abs=1e-6), name
        assert res["left_out_examples"][name] == left_out, name
    pooled = skm.f1_score(yn[mn], pn[mn] > 0.4) if (yn[mn].sum() or (pn[mn] > 0.4).sum()) else math.nan
    assert res["micro_f1"] == pytest.approx(pooled, abs=1e-6, nan_ok=True)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_scores_of_unknown_entries_change_nothing(seed):
    probs, y, mask = _data(seed, missing=0.5)
    other = probs.clone()
    other[~mask] = torch.rand(int((~mask).sum()), generator=torch.Generator().manual_seed(seed + 1))
    flipped = y.clone()
    flipped[~mask] = 1 - flipped[~mask]
    a, b = _metrics(probs, y, mask), _metrics(other, flipped, mask)
    for name in EXAMPLE_METRICS:
        assert a[name] == pytest.approx(b[name], nan_ok=True), name


def test_ties_count_against_the_model_as_in_scikit_learn():
    probs = torch.tensor([[0.5, 0.5, 0.2], [0.7, 0.7, 0.7]])
    y = torch.tensor([[1, 0, 0], [0, 1, 0]], dtype=torch.int8)
    mask = torch.ones_like(y, dtype=torch.bool)
    assert ranking_loss(probs, y, mask).tolist() == pytest.approx([0.5, 1.0])
    assert one_error(probs, y, mask).tolist() == [1.0, 1.0]
    assert coverage(probs, y, mask).tolist() == [2.0, 3.0]
    assert ranking_loss(probs, y, mask).tolist() == pytest.approx(
        [skm.label_ranking_loss(y[i : i + 1].numpy(), probs[i : i + 1].numpy()) for i in range(2)]
    )


def test_a_single_task_is_scored_like_one_label_per_example():
    probs, y, mask = _data(5, n=40, t=1, missing=0.2)
    res = _metrics(probs, y, mask, 0.5)
    yn, pn, mn = y[:, 0].numpy().astype(int), probs[:, 0].numpy(), mask[:, 0].numpy()
    assert res["hamming"] == pytest.approx(skm.hamming_loss(yn[mn], pn[mn] > 0.5), abs=1e-6)
    assert res["micro_f1"] == pytest.approx(skm.f1_score(yn[mn], pn[mn] > 0.5), abs=1e-6)
    assert res["lrap"] == 1.0 and res["coverage"] == 1.0 and res["one_error"] == 0.0  # a lone positive ranks first
    assert math.isnan(res["ranking_loss"]) and res["left_out_examples"]["lrap"] == int((~(mn & (yn == 1))).sum())


def test_no_scorable_example_gives_nan_never_zero():
    probs = torch.rand(4, 3)
    y = torch.zeros(4, 3, dtype=torch.int8)
    res = _metrics(probs, y, torch.zeros(4, 3, dtype=torch.bool))
    assert all(math.isnan(res[m]) for m in EXAMPLE_METRICS)
    assert res["left_out_examples"]["hamming"] == 4 and res["left_out_tasks"]["macro_f1"] == 3


def test_metric_object_is_exact_whatever_the_batching_and_example_order():
    """Under DDP the gathered states hold the examples in another order, split into other batches."""
    probs, y, mask = _data(11, n=90, missing=0.3)
    tasks = [f"t{j}" for j in range(5)]
    whole, shuffled = MaskedMultilabelMetrics(tasks), MaskedMultilabelMetrics(tasks)
    whole.choose_thresholds = shuffled.choose_thresholds = True  # eval.threshold=val_f1: the same choice too
    whole.update(probs, y, mask)
    order = torch.randperm(90, generator=torch.Generator().manual_seed(0))
    for chunk in order.split(17):
        shuffled.update(probs[chunk], y[chunk], mask[chunk])
    a, b = whole.compute()["example_based"], shuffled.compute()["example_based"]
    assert whole.thresholds == shuffled.thresholds and whole.thresholds["rule"] == "val_f1"
    assert [a[m] for m in EXAMPLE_METRICS] == pytest.approx([b[m] for m in EXAMPLE_METRICS], abs=1e-6)
    assert a["left_out_examples"] == b["left_out_examples"]
    assert a["lrap"] == pytest.approx(_metrics(probs, y, mask)["lrap"])
    assert a["hamming"] == pytest.approx(_metrics(probs, y, mask, list(whole.thresholds["values"].values()))["hamming"])


@pytest.mark.parametrize("others", [0, 1])
def test_a_split_with_one_scorable_example_is_scored_like_scikit_learn(others):
    """A 5-row table leaves one row in val (issue 24): the metrics of that one example, not an IndexError."""
    probs = torch.tensor([[0.9, 0.2, 0.6], [0.1, 0.5, 0.5]])[: 1 + others]
    y = torch.tensor([[1, 0, 0], [0, 0, 0]], dtype=torch.int8)[: 1 + others]
    mask = torch.tensor([[True, True, True], [False, False, False]])[: 1 + others]  # the second row has no label
    res = _metrics(probs, y, mask, 0.5)
    yn, pn = y[:1].numpy().astype(int), probs[:1].numpy()
    assert res["hamming"] == pytest.approx(skm.hamming_loss(yn[0], pn[0] > 0.5))
    assert res["lrap"] == pytest.approx(skm.label_ranking_average_precision_score(yn, pn))
    assert res["coverage"] == pytest.approx(skm.coverage_error(yn, pn))
    assert res["left_out_examples"]["hamming"] == others


@pytest.mark.parametrize("seed", [0, 1])
def test_many_tasks_with_missing_labels_and_tied_scores_equal_scikit_learn_per_example(seed):
    """The ranking metrics count by sorting (ToxCast has 617 tasks): on 80 tasks, 70 % missing, scores on a coarse
    grid (ties within and across classes), each example's value is scikit-learn's on its labelled entries."""
    g = torch.Generator().manual_seed(seed)
    n, t = 40, 80
    probs = (torch.rand(n, t, generator=g) * 10).round() / 10
    y = (torch.rand(n, t, generator=g) < 0.3).to(torch.int8)
    mask = torch.rand(n, t, generator=g) < 0.3
    res = _metrics(probs, y, mask)
    yn, pn, mn = y.numpy().astype(int), probs.numpy(), mask.numpy()
    cases = {
        "lrap": (_row(skm.label_ranking_average_precision_score, 1.0), lambda yl: yl.sum() > 0),
        "ranking_loss": (skm.label_ranking_loss, lambda yl: 0 < yl.sum() < len(yl)),
        "coverage": (_row(skm.coverage_error, 1.0), lambda yl: yl.sum() > 0),
    }
    for name, (fn, keep) in cases.items():
        value, left_out = _per_example(fn, yn, pn, mn, keep)
        assert res[name] == pytest.approx(value, abs=1e-7), name  # float rounding (LRAP)
        assert res["left_out_examples"][name] == left_out, name
    pooled = skm.f1_score(yn[mn], pn[mn] > 0.5)
    assert res["micro_f1"] == pytest.approx(pooled, abs=1e-12)
