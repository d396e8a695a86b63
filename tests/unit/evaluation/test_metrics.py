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


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_per_task_values_equal_scikit_learn_and_the_former_torchmetrics_calls_with_missing_labels_and_ties(seed):
    """Many tasks, most entries missing, scores rounded so that ties are common (within and across classes); a
    task with no label and a task with one class stay NaN. Reference: scikit-learn on each task's labelled
    entries; also the torchmetrics calls the values were computed with before (one call per task and metric)."""
    from sklearn import metrics as skm
    from torchmetrics.functional.classification import (
        binary_accuracy,
        binary_auroc,
        binary_average_precision,
        binary_f1_score,
    )

    g = torch.Generator().manual_seed(seed)
    n, t = 150, 40
    probs = (torch.rand(n, t, generator=g) * 20).round() / 20
    y = (torch.rand(n, t, generator=g) < torch.linspace(0.02, 0.6, t)).to(torch.int8)
    mask = torch.rand(n, t, generator=g) < 0.3
    mask[:, 0] = False  # no label
    y[:, 1] = 1  # one class only
    thresholds = torch.linspace(0.2, 0.8, t).tolist()
    tasks = [f"t{j}" for j in range(t)]
    res = task_metrics(probs, y, mask, tasks, thresholds)
    for j, task in enumerate(tasks):
        row, m = res["per_task"][task], mask[:, j]
        p, yt = probs[m, j], y[m, j].long()
        assert row["n_labelled"] == int(m.sum()) and row["n_pos"] == int(yt.sum())
        d = (p.double() > thresholds[j]).long()
        if 0 < int(yt.sum()) < len(yt):
            assert row["auroc"] == pytest.approx(skm.roc_auc_score(yt.numpy(), p.numpy()), abs=1e-9)
            assert row["ap"] == pytest.approx(skm.average_precision_score(yt.numpy(), p.numpy()), abs=1e-9)
            assert row["auroc"] == pytest.approx(float(binary_auroc(p, yt)), abs=1e-6)
            assert row["ap"] == pytest.approx(float(binary_average_precision(p, yt)), abs=1e-6)
        else:
            assert math.isnan(row["auroc"]) and math.isnan(row["ap"])
        if len(yt):
            assert row["acc"] == pytest.approx(skm.accuracy_score(yt.numpy(), d.numpy()), abs=1e-12)
            assert row["acc"] == pytest.approx(float(binary_accuracy(d, yt)), abs=1e-6)
        else:
            assert math.isnan(row["acc"])
        if int(yt.sum()):
            assert row["f1"] == pytest.approx(skm.f1_score(yt.numpy(), d.numpy(), zero_division=0), abs=1e-12)
            assert row["f1"] == pytest.approx(float(binary_f1_score(d, yt)), abs=1e-6)
        else:
            assert math.isnan(row["f1"])
    assert math.isnan(res["per_task"]["t0"]["auroc"]) and math.isnan(res["per_task"]["t1"]["ap"])
    defined = [r["auroc"] for r in res["per_task"].values() if not math.isnan(r["auroc"])]
    assert res["macro"]["auroc"] == pytest.approx(sum(defined) / len(defined))
    assert res["undefined"]["auroc"] == t - len(defined) >= 2
