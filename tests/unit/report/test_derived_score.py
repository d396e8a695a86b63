"""mtlkit.report.derived_score: AUROC of a (derived) probability column of an mtlkit-predict CSV, unknown labels left
out; checked against scikit-learn on CSVs written by mtlkit-predict's own writer. No training; well under a second."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from mtlkit.data.derived import parse_derived
from mtlkit.errors import DataError
from mtlkit.evaluation.predictions import write_csv
from mtlkit.report.derived_score import auroc, main, same_examples, score_csv

TASKS = ["pedestrian", "car", "stop_sign", "traffic_light"]


def _predictions(tmp_path, seed=0, n=400, known=0.7, name="pred.csv"):
    """An mtlkit-predict CSV of a 4-task model with --derived stop and data.derived stop: random probabilities,
    labels that lean on them, ~30 % of stop labels unknown. Returns the path, prob_stop, label_stop (None: unknown)."""
    g = torch.Generator().manual_seed(seed)
    probs = torch.rand(n, 4, generator=g)
    (rule,) = parse_derived({"stop": "pedestrian or stop_sign"})
    p_stop = rule.probability(probs, TASKS)
    y_stop = (torch.rand(n, generator=g) < p_stop).float()
    mask_stop = torch.rand(n, generator=g) < known
    pred = {
        "ids": [f"img{i}" for i in range(n)],
        "probs": torch.cat([probs, p_stop[:, None]], 1),
        "y": torch.cat([torch.zeros(n, 4), y_stop[:, None]], 1),
        "mask": torch.cat([torch.zeros(n, 4, dtype=torch.bool), mask_stop[:, None]], 1),
    }
    path = tmp_path / name
    write_csv(path, [*TASKS, "stop"], [*TASKS, "stop"], pred)
    p_written = [float(f"{p:.6f}") for p in p_stop.tolist()]  # the CSV keeps 6 decimals
    labels = [int(y) if m else None for y, m in zip(y_stop.tolist(), mask_stop.tolist())]
    return path, p_written, labels


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auroc_of_a_derived_column_equals_sklearn_on_the_known_labels(tmp_path, seed):
    path, p, y = _predictions(tmp_path, seed)
    score = score_csv(path, "stop")
    known = [i for i, v in enumerate(y) if v is not None]
    expected = roc_auc_score([y[i] for i in known], [p[i] for i in known])
    assert score.auroc == pytest.approx(expected, abs=1e-6)  # torchmetrics returns float32
    assert (score.n, score.unknown, score.positives) == (len(known), len(y) - len(known), sum(y[i] for i in known))
    # unknown labels are left out, not read as 0: counting them as negatives gives another value
    as_zero = roc_auc_score([v or 0 for v in y], p)
    assert abs(as_zero - score.auroc) > 1e-3


def test_question_marks_are_unknown_and_ties_are_scored_like_sklearn(tmp_path):
    rng = np.random.default_rng(3)
    probs = rng.choice([0.1, 0.5, 0.9], size=200).tolist()  # many ties
    labels = rng.integers(0, 2, size=200).tolist()
    lines = ["id,prob_stop,label_stop"]
    for i, (p, y) in enumerate(zip(probs, labels)):
        lines.append(f"{i},{p},{'?' if i % 5 == 0 else y}")
    path = tmp_path / "q.csv"
    path.write_text("\n".join(lines) + "\n")
    score = score_csv(path, "stop")
    keep = [i for i in range(200) if i % 5]
    assert score.unknown == 40 and score.n == 160
    expected = roc_auc_score([labels[i] for i in keep], [probs[i] for i in keep])
    assert score.auroc == pytest.approx(expected, abs=1e-6)


def test_one_class_gives_nan_and_bad_input_is_refused(tmp_path):
    assert math.isnan(auroc([0.2, 0.7, 0.4], [1, 1, None]).auroc)
    path, _, _ = _predictions(tmp_path)
    with pytest.raises(DataError, match="no column"):
        score_csv(path, "stopp")
    bad = tmp_path / "bad.csv"
    bad.write_text("id,prob_stop,label_stop\na,0.3,2\n")
    with pytest.raises(DataError, match="not 1, 0"):
        score_csv(bad, "stop")


def test_same_examples_and_the_command_line(tmp_path, capsys):
    a, _, _ = _predictions(tmp_path, 0, name="a.csv")
    b, _, _ = _predictions(tmp_path, 0, name="b.csv")
    c, _, _ = _predictions(tmp_path, 1, name="c.csv")
    same_examples([a, b], "stop")
    with pytest.raises(DataError, match="same examples"):
        same_examples([a, c], "stop")
    assert main([str(a), str(b), "--task", "stop", "--same-examples", "--json"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and '"auroc"' in out[0]
    assert main([str(a), str(c), "--task", "stop", "--same-examples"]) == 2
