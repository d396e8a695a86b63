"""``model=rf``: scikit-learn's ``RandomForestClassifier``, one per task (``approach=classical``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mtlkit.errors import ConfigError
from mtlkit.models.classical.family import EstimatorFamily, positive_int

CLASS_WEIGHTS = (None, "balanced", "balanced_subsample")


class RandomForestFamily(EstimatorFamily):
    """A random forest; its ``random_state`` is the run's ``seed``."""

    name = "rf"

    def __init__(
        self,
        n_estimators: int | list[int] = 500,
        max_depth: int | None | list[int | None] = None,
        min_samples_leaf: int | list[int] = 1,
        class_weight: str | None = None,
        n_jobs: int = 1,
    ):
        super().__init__(
            n_estimators=n_estimators,
            max_depth=max_depth,
            min_samples_leaf=min_samples_leaf,
            class_weight=class_weight,
            n_jobs=n_jobs,
        )

    def check(self, options: Mapping[str, Any]) -> None:
        positive_int(options, ["n_estimators", "max_depth", "min_samples_leaf"], allow_null=["max_depth"])
        if options["class_weight"] not in CLASS_WEIGHTS:
            raise ConfigError(
                f"model.class_weight={options['class_weight']!r}: choose null, balanced or balanced_subsample"
            )
        n_jobs = options["n_jobs"]
        if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
            raise ConfigError(f"model.n_jobs={n_jobs!r}: give a number of processes >= 1, or -1 for every core")

    def estimator(self, options: Mapping[str, Any], seed: int) -> Any:
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(
            n_estimators=int(options["n_estimators"]),
            max_depth=options["max_depth"],
            min_samples_leaf=int(options["min_samples_leaf"]),
            class_weight=options["class_weight"],
            n_jobs=int(options["n_jobs"]),
            random_state=seed,
        )
