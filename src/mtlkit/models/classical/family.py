"""An estimator family: what ``model=logreg|rf`` builds for ``approach=classical``, one scikit-learn estimator per
task. Any option may be a list (``model.C=[0.01,0.1,1]``): its values form a grid, and each task keeps the
candidate with the best validation AUROC (:mod:`mtlkit.models.classical.per_task`)."""

from __future__ import annotations

import importlib.util
import itertools
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from hydra.utils import get_class

from mtlkit.errors import ConfigError

INSTALL = 'pip install -e ".[classical]"'


def require_sklearn() -> None:
    """A one-line error when scikit-learn is not installed (it is an optional extra)."""
    if importlib.util.find_spec("sklearn") is None:
        raise ConfigError(f"approach=classical fits scikit-learn estimators, which is not installed: {INSTALL}")


class EstimatorFamily:
    """Base class of ``model=NAME`` for ``approach=classical``: its options, the grid they span, and
    :meth:`estimator`, a fresh unfitted scikit-learn classifier for one candidate."""

    name: ClassVar[str] = "estimator"

    def __init__(self, **options: Any):
        self.options = {k: list(v) if isinstance(v, (list, tuple)) else v for k, v in options.items()}
        for key, value in self.options.items():
            if isinstance(value, list) and not value:
                raise ConfigError(f"model.{key}=[]: give a value, or a non-empty list of values to choose from on val")
        for candidate in self.candidates():
            self.check(candidate)

    def searched(self) -> list[str]:
        """The options given as lists (chosen per task on the validation split)."""
        return [k for k, v in self.options.items() if isinstance(v, list)]

    def candidates(self) -> list[dict[str, Any]]:
        """Every combination of the listed options' values, the others fixed; in the config's order."""
        keys = self.searched()
        fixed = {k: v for k, v in self.options.items() if k not in keys}
        return [{**fixed, **dict(zip(keys, values))} for values in itertools.product(*(self.options[k] for k in keys))]

    def check(self, options: Mapping[str, Any]) -> None:
        """Refuse a candidate scikit-learn would refuse, naming the key (a subclass adds its rules)."""

    def estimator(self, options: Mapping[str, Any], seed: int) -> Any:
        """A fresh, unfitted scikit-learn classifier for ``options``; ``seed`` is its ``random_state``."""
        raise NotImplementedError


def is_estimator_family(model_cfg: Mapping[str, Any] | None) -> bool:
    """Whether ``model_cfg`` (a ``model=`` config) names an :class:`EstimatorFamily` rather than a network."""
    target = (model_cfg or {}).get("_target_")
    if not isinstance(target, str):
        return False
    try:
        cls = get_class(target)
    except Exception:  # an unimportable target is reported where it is built
        return False
    return isinstance(cls, type) and issubclass(cls, EstimatorFamily)


def class_weight(value: Any, key: str = "model.class_weight") -> str | None:
    """``class_weight``: null (every labelled entry weighs 1) or ``balanced`` (classes weigh the same in total)."""
    if value is None or value == "balanced":
        return value
    raise ConfigError(f"{key}={value!r}: choose null or balanced")


def positive_int(options: Mapping[str, Any], keys: Sequence[str], allow_null: Sequence[str] = ()) -> None:
    """Refuse a non-integer or < 1 value of ``keys`` (null allowed for ``allow_null``), naming the key."""
    for key in keys:
        value = options.get(key)
        if value is None and key in allow_null:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            more = " or null" if key in allow_null else ""
            raise ConfigError(f"model.{key}={value!r}: give an integer >= 1{more}")
