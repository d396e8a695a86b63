import math

import pytest
import torch

from mtlkit.evaluation.metrics import MaskedMultilabelMetrics, task_metrics


def test_metrics_use_labelled_entries_only():
    # task 0: the "?" entries would ruin the ranking if they were counted.
    probs = torch.tensor([[0.9], [0.2], [0.8], [0.1], [0.05], [0.95]])
    y = torch.tensor([[1], [0], [1], [0], [1], [0]], dtype=torch.int8)
    mask = torch.tensor([[True], [True], [True], [True], [False], [False]])
    res = task_metrics(probs, y, mask, ["t"])
    row = res["per_task"]["t"]
    assert row["auroc"] == pytest.approx(1.0) and row["ap"] == pytest.approx(1.0)
    assert row["acc"] == pytest.approx(1.0) and row["f1"] == pytest.approx(1.0)
    assert row["n_labelled"] == 4 and row["n_pos"] == 2


def test_auroc_value_matches_pair_counting():
    g = torch.Generator().manual_seed(0)
    probs = torch.rand(200, 1, generator=g)
    y = (torch.rand(200, 1, generator=g) < 0.4).to(torch.int8)
    mask = torch.ones(200, 1, dtype=torch.bool)
    pos, neg = probs[y.bool()], probs[~y.bool()]
    pairs = (pos.view(-1, 1) > neg.view(1, -1)).float().mean().item()
    assert task_metrics(probs, y, mask, ["t"])["per_task"]["t"]["auroc"] == pytest.approx(pairs, abs=1e-6)


def test_undefined_tasks_are_nan_counted_and_left_out_of_macro():
    probs = torch.tensor([[0.9, 0.5, 0.7], [0.1, 0.5, 0.6], [0.8, 0.5, 0.2]])
    y = torch.tensor([[1, 0, 1], [0, 0, 1], [1, 0, 1]], dtype=torch.int8)
    mask = torch.tensor([[True, False, True], [True, False, True], [True, False, True]])
    res = task_metrics(probs, y, mask, ["ok", "no_labels", "one_class"])
    assert res["per_task"]["ok"]["auroc"] == pytest.approx(1.0)
    assert math.isnan(res["per_task"]["no_labels"]["auroc"])
    assert math.isnan(res["per_task"]["one_class"]["auroc"])  # only positives: AUROC undefined, not 0
    assert res["macro"]["auroc"] == pytest.approx(1.0)
    assert res["undefined"]["auroc"] == 2 and res["undefined"]["acc"] == 1


def test_metric_object_accumulates_batches_and_resets():
    m = MaskedMultilabelMetrics(["a", "b"])
    g = torch.Generator().manual_seed(1)
    probs = torch.rand(100, 2, generator=g)
    y = (torch.rand(100, 2, generator=g) < 0.5).float()
    mask = torch.rand(100, 2, generator=g) < 0.7
    m.update(probs[:40], y[:40], mask[:40])
    m.update(probs[40:], y[40:], mask[40:])
    whole = task_metrics(probs, y.to(torch.int8), mask, ["a", "b"])
    got = m.compute()["per_task"]
    for task in ("a", "b"):
        assert got[task] == pytest.approx(whole["per_task"][task])
    m.reset()
    assert math.isnan(m.compute()["per_task"]["a"]["auroc"])
