"""The approach protocol: what ``approach=NAME`` builds, trains and evaluates, and the typed result it returns.

An approach is a class chosen by ``_target_`` in ``conf/approach/NAME.yaml`` (its options are the other keys of
that config). The classmethod ``preflight(cfg)`` runs before the run folder is touched (asked by
:mod:`mtlkit.config_checks.plugins`), ``check(cfg)`` before any data is built, so that a bad combination fails at once;
``run(cfg, dm)`` trains on the data module ``dm`` and returns an :class:`ApproachResult`, whose ``record()``
goes into results.json with the same metric keys for every approach.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytorch_lightning as pl
from hydra.utils import get_class
from omegaconf import DictConfig

from mtlkit.approaches.fit import FitResult
from mtlkit.data.base import MultiLabelDataModule
from mtlkit.errors import ConfigError
from mtlkit.models.classical.family import is_estimator_family


@dataclass
class ApproachResult:
    """What an approach hands back: the final fit, the parameter counts, its own entries and the last Trainer
    (None for an approach that trains without one, ``approach=classical``)."""

    fit: FitResult
    parameters: dict[str, Any]
    trainer: pl.Trainer | None
    extra: dict[str, Any] = field(default_factory=dict)  # approach-specific results.json entries
    timings: dict[str, float] = field(default_factory=dict)  # approach-specific timings (e.g. pre-training)

    def record(self) -> dict[str, Any]:
        """The results.json entries of the approach (metrics, checkpoint, epochs, steps, parameters, timings)."""
        return {
            "metrics": self.fit.metrics,
            "best_checkpoint": self.fit.best_checkpoint,
            "epochs": self.fit.epochs,
            "global_steps": self.fit.global_steps,
            "parameters": self.parameters,
            **self.extra,
            "timings": {**self.timings, **self.fit.timings},
        }


class Approach:
    """Base class: ``name`` as in ``approach.name``; subclasses implement :meth:`run`."""

    measures_affinity = False  # whether ``affinity=tag`` is supported (it needs one shared network)
    takes_estimators = False  # whether ``model=`` is a scikit-learn estimator family (logreg, rf) or a network
    uses_trainer = True  # whether it trains with a Lightning Trainer (``trainer=``, steps and epochs mean something)

    def __init__(self, name: str):
        self.name = name

    @classmethod
    def preflight(cls, cfg: DictConfig) -> None:
        """Before any folder is touched: ``ckpt_path``, when it names a file, must be a checkpoint."""
        ckpt = cfg.get("ckpt_path")
        if ckpt in (None, "", "null", "last"):
            return
        from mtlkit.runtime.checkpoints import ckpt_path_error  # imports torch: only when a file is named

        error = ckpt_path_error(ckpt)
        if error:
            raise ConfigError(error)

    def check_model(self, cfg: DictConfig) -> None:
        """Refuse ``model=logreg|rf`` (scikit-learn estimators) for an approach that trains networks, in one line."""
        if self.takes_estimators or not is_estimator_family(cfg.get("model")):
            return
        family = get_class(str(cfg.model._target_)).name
        raise ConfigError(
            f"model={family} is a scikit-learn estimator, not a network: use it with approach=classical, or give "
            f"approach={self.name} a network (model=mlp|cnn|timm)"
        )

    def check(self, cfg: DictConfig) -> None:
        """Checks made before any data is built (after :meth:`preflight`): ``affinity=tag`` needs one shared network."""
        if (cfg.get("affinity") or {}).get("_target_") and not self.measures_affinity:
            raise ConfigError(
                f"affinity=tag measures how tasks affect each other through one shared network: use it with "
                f"approach=multitask (approach={self.name} has none), or set affinity=none"
            )

    def run(self, cfg: DictConfig, dm: MultiLabelDataModule) -> ApproachResult:
        raise NotImplementedError
