"""``model=logreg``: scikit-learn's ``LogisticRegression``, one per task (``approach=classical``)."""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from typing import Any

from mtlkit.errors import ConfigError
from mtlkit.models.classical.family import EstimatorFamily, class_weight, positive_int

PENALTIES = ("l2", "l1", "none")


class LogisticRegressionFamily(EstimatorFamily):
    """L2 (default), L1 or unpenalised logistic regression; ``C`` is the inverse regularisation strength."""

    name = "logreg"

    def __init__(
        self,
        C: float | list[float] = 1.0,
        penalty: str | list[str] = "l2",
        class_weight: str | None = None,
        max_iter: int = 1000,
    ):
        super().__init__(C=C, penalty=penalty, class_weight=class_weight, max_iter=max_iter)

    def check(self, options: Mapping[str, Any]) -> None:
        c = options["C"]
        if isinstance(c, bool) or not isinstance(c, (int, float)) or not c > 0 or math.isinf(c):
            raise ConfigError(f"model.C={c!r}: give a number > 0 (or a list of them, chosen per task on val)")
        if options["penalty"] not in PENALTIES:
            raise ConfigError(f"model.penalty={options['penalty']!r}: choose one of {', '.join(PENALTIES)}")
        class_weight(options["class_weight"])
        positive_int(options, ["max_iter"])

    def estimator(self, options: Mapping[str, Any], seed: int) -> Any:
        from sklearn.linear_model import LogisticRegression

        penalty = options["penalty"]
        kwargs: dict[str, Any] = {
            "C": math.inf if penalty == "none" else float(options["C"]),
            "class_weight": options["class_weight"],
            "max_iter": int(options["max_iter"]),
            "solver": "liblinear" if penalty == "l1" else "lbfgs",
            "random_state": seed,
        }
        if _penalty_is_deprecated(LogisticRegression):  # scikit-learn >= 1.8: l1_ratio and C say it
            kwargs["l1_ratio"] = 1.0 if penalty == "l1" else 0.0
        else:
            kwargs["penalty"] = None if penalty == "none" else penalty
            if penalty == "none":
                kwargs["C"] = 1.0
        return LogisticRegression(**kwargs)


def _penalty_is_deprecated(cls: type) -> bool:
    return inspect.signature(cls).parameters["penalty"].default == "deprecated"
