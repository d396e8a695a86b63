"""One scikit-learn estimator per task, each fitted on that task's labelled training rows only (the "?" rule), the
candidate of a grid chosen per task on its labelled validation rows (AUROC); a task that train cannot teach (one
class, or no label) gets its prior, a constant probability."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mtlkit.models.classical.family import EstimatorFamily

NO_LABEL_PROBABILITY = 0.5  # the prior of a task without any labelled training entry


class ConstantProbability:
    """The estimator of a task train cannot teach: the same probability of the positive class for every input."""

    classes_ = np.array([0, 1])

    def __init__(self, probability: float):
        self.probability = float(probability)

    def predict_proba(self, x: Any) -> np.ndarray:
        p = np.full(len(x), self.probability)
        return np.stack([1.0 - p, p], axis=1)


def positive_probability(estimator: Any, x: np.ndarray) -> np.ndarray:
    """P(label = 1) of a fitted classifier for the rows of ``x`` (0 if class 1 was never seen)."""
    classes = list(estimator.classes_)
    if 1 not in classes:
        return np.zeros(len(x))
    return np.asarray(estimator.predict_proba(x))[:, classes.index(1)].astype(np.float64)


@dataclass
class TaskFit:
    """A task's fitted estimator, the candidate chosen (None: a constant prior), and the validation AUROC of every
    candidate tried (NaN where undefined: a single class among the task's labelled validation rows)."""

    estimator: Any
    options: dict[str, Any] | None
    val_auroc: list[float] = field(default_factory=list)
    constant: str | None = None  # why the task is a constant: "only positives" | "only negatives" | "no label"


def _auroc(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else math.nan


def fit_task(
    family: EstimatorFamily,
    x: np.ndarray,
    y: np.ndarray,
    labelled: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    labelled_val: np.ndarray,
    seed: int,
) -> TaskFit:
    """Fit every candidate of ``family`` on the rows where ``labelled``; keep the best on the labelled validation
    rows by AUROC (the first candidate when AUROC is undefined there, or when there is only one)."""
    xt, yt = x[labelled], y[labelled].astype(np.int64)
    positives = int(yt.sum())
    if positives in (0, len(yt)):
        kind = "no label" if not len(yt) else "only positives" if positives else "only negatives"
        prior = positives / len(yt) if len(yt) else NO_LABEL_PROBABILITY
        return TaskFit(ConstantProbability(prior), None, constant=kind)
    candidates = family.candidates()
    fitted = [family.estimator(c, seed).fit(xt, yt) for c in candidates]
    if len(fitted) == 1:
        return TaskFit(fitted[0], candidates[0])
    yv = y_val[labelled_val].astype(np.int64)
    scores = [_auroc(yv, positive_probability(e, x_val[labelled_val])) for e in fitted]
    defined = [s for s in scores if not math.isnan(s)]
    best = scores.index(max(defined)) if defined else 0
    return TaskFit(fitted[best], candidates[best], scores)


def fit_per_task(
    family: EstimatorFamily,
    tasks: Sequence[str],
    train: Mapping[str, np.ndarray],
    val: Mapping[str, np.ndarray],
    seed: int,
) -> dict[str, TaskFit]:
    """:func:`fit_task` for every task; ``train`` and ``val`` hold ``x`` [N, D], ``y`` and ``mask`` [N, T]."""
    return {
        task: fit_task(
            family, train["x"], train["y"][:, j], train["mask"][:, j], val["x"], val["y"][:, j], val["mask"][:, j], seed
        )
        for j, task in enumerate(tasks)
    }


def predict_per_task(estimators: Mapping[str, Any], tasks: Sequence[str], x: np.ndarray) -> np.ndarray:
    """P(label = 1) [N, T] of each task's estimator, in the order of ``tasks``."""
    if not tasks:
        return np.zeros((len(x), 0))
    return np.stack([positive_probability(estimators[t], x) for t in tasks], axis=1)
