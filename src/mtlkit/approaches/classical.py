"""``approach=classical``: one scikit-learn estimator per task (``model=logreg|rf``), each fitted on that task's
labelled training rows only, scored with the networks' metrics code and written to the same results.json.

Options given as lists (``model.C=[0.01,0.1,1]``) are chosen per task on its labelled validation rows (AUROC); test
only reports. A task with a single class (or no label) in train gets its prior, a constant probability, said once.
No Lightning Trainer runs: results.json's ``epochs`` and ``global_steps`` are null, and ``classical`` says why. The
estimators, the config and the data's fitted preprocessing go to ``<run>/classical.joblib`` for ``mtlkit-predict``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from hydra.utils import get_class, instantiate
from omegaconf import DictConfig, OmegaConf

from mtlkit.approaches.base import Approach, ApproachResult
from mtlkit.approaches.fit import FitResult
from mtlkit.console import get_console
from mtlkit.data.base import MultiLabelDataModule
from mtlkit.errors import ConfigError
from mtlkit.evaluation.metrics import MaskedMultilabelMetrics
from mtlkit.evaluation.thresholds import CHECKPOINT_KEY, DEFAULT_THRESHOLD, VAL_F1, rule_of_config
from mtlkit.models.classical.family import EstimatorFamily, is_estimator_family, require_sklearn
from mtlkit.models.classical.module import EstimatorsModule
from mtlkit.models.classical.per_task import TaskFit, fit_per_task
from mtlkit.models.classical.store import MODEL_FILE, save_model

NO_TRAINER = "approach=classical fits scikit-learn estimators: no epochs nor optimizer steps"


class Classical(Approach):
    """T scikit-learn classifiers, one per task, on feature vectors (``data=table``, fingerprints)."""

    takes_estimators = True
    uses_trainer = False

    def check(self, cfg: DictConfig) -> None:
        """Before any data is built: scikit-learn installed, an estimator family as ``model=``, its options, and data
        whose examples are feature vectors (where the data config tells)."""
        super().check(cfg)
        require_sklearn()
        build_family(cfg)
        name, shape = _planned_input_shape(cfg.data)
        if shape is not None and len(shape) != 1:
            raise _not_vectors(name, shape)

    def run(self, cfg: DictConfig, dm: MultiLabelDataModule) -> ApproachResult:
        if len(dm.input_shape) != 1:
            raise _not_vectors(dm.name, dm.input_shape)
        family = build_family(cfg)
        tasks = list(dm.tasks)
        arrays = {split: _arrays(dm, split) for split in ("train", "val", "test")}
        searched = family.searched()
        get_console().print(
            f"classical: {len(tasks)} x {type(family).__name__} ({family.name}), each on its task's labelled train "
            f"rows" + (f"; {', '.join(searched)} chosen per task on val AUROC" if searched else ""),
            highlight=False,
        )
        t0 = time.perf_counter()
        fits = fit_per_task(family, tasks, arrays["train"], arrays["val"], int(cfg.seed))
        fit_s = time.perf_counter() - t0
        # A task with a single class in train is a constant (its prior); the run's learnability warning said so once.
        module = EstimatorsModule(tasks, {t: f.estimator for t, f in fits.items()})
        t1 = time.perf_counter()
        metrics, thresholds = evaluate(module, arrays, tasks, rule_of_config(OmegaConf.to_container(cfg)))
        evaluate_s = time.perf_counter() - t1
        path = Path(cfg.paths.output_dir) / MODEL_FILE
        save_model(path, model_content(cfg, dm, module, thresholds))
        fit = FitResult(
            metrics=metrics,
            best_checkpoint=None,
            epochs=None,  # type: ignore[arg-type]  # no Trainer: nothing to count
            global_steps=None,  # type: ignore[arg-type]
            timings={"fit_s": fit_s, "evaluate_s": evaluate_s},
        )
        extra = {"classical": selection_record(family, fits, str(path))}
        return ApproachResult(fit=fit, parameters=parameter_counts(fits), trainer=None, extra=extra)


def build_family(cfg: DictConfig) -> EstimatorFamily:
    """The ``model=`` estimator family, its options checked (a :class:`ConfigError` names the key)."""
    if not is_estimator_family(cfg.get("model")):
        target = (cfg.get("model") or {}).get("_target_")
        raise ConfigError(
            f"approach=classical fits scikit-learn estimators, and model._target_={target} is a network: choose "
            "model=logreg or model=rf (networks train with approach=multitask|separate|grouped|transfer)"
        )
    return instantiate(cfg.model, _convert_="all")


def _planned_input_shape(data_cfg: DictConfig) -> tuple[str, tuple[int | None, ...] | None]:
    """The data's name and the input shape its config alone gives (None when only the data tell)."""
    try:
        cls = get_class(str(data_cfg.get("_target_")))
    except Exception:  # reported when the data are built
        return "", None
    planned = getattr(cls, "planned_input_shape", None)
    shape = planned(OmegaConf.to_container(data_cfg, resolve=True)) if planned else None
    return str(getattr(cls, "name", cls.__name__)), shape


def _not_vectors(data: str, shape: Any) -> ConfigError:
    return ConfigError(
        f"approach=classical needs examples that are feature vectors (data=table, fingerprints); data={data} gives "
        "inputs "
        f"of shape {list(shape)}: train a network on them instead (approach=multitask model=cnn)"
    )


def _arrays(dm: MultiLabelDataModule, split: str) -> dict[str, np.ndarray]:
    data = dm.splits[split]
    x = data.x if isinstance(data.x, torch.Tensor) else torch.as_tensor(np.asarray(data.x))
    return {"x": x.double().numpy(), "y": data.y.numpy(), "mask": data.mask.numpy().astype(bool)}


def evaluate(
    module: EstimatorsModule, arrays: dict[str, dict[str, np.ndarray]], tasks: list[str], rule: float | str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Val and test metrics from the networks' metrics code (:class:`MaskedMultilabelMetrics`); with
    ``eval.threshold=val_f1`` the thresholds are chosen on val and applied to test. Returns the metrics and the
    thresholds test was scored with."""
    fixed = DEFAULT_THRESHOLD if rule == VAL_F1 else float(rule)
    metrics: dict[str, Any] = {}
    thresholds: dict[str, Any] | None = None
    for split in ("val", "test"):
        metric = MaskedMultilabelMetrics(tasks, fixed)
        metric.choose_thresholds = split == "val" and rule == VAL_F1
        if thresholds is not None:
            metric.thresholds = thresholds
        a = arrays[split]
        metric.update(module.probabilities(a["x"]).float(), torch.from_numpy(a["y"]), torch.from_numpy(a["mask"]))
        metrics[split] = metric.compute()
        thresholds = metric.thresholds
    return metrics, thresholds or {}


def model_content(
    cfg: DictConfig, dm: MultiLabelDataModule, module: EstimatorsModule, thresholds: dict[str, Any]
) -> dict[str, Any]:
    """What ``classical.joblib`` holds, laid out like a checkpoint (:mod:`mtlkit.models.classical.store`)."""
    return {
        "mtlkit": {
            "architecture": module.architecture,
            "config": OmegaConf.to_container(cfg, resolve=True),
            "input_shape": list(dm.input_shape),
            "approach": cfg.approach.name,
            "tasks": module.tasks,
            CHECKPOINT_KEY: thresholds,
        },
        "estimators": module.estimators,
        type(dm).__qualname__: dm.state_dict(),  # a file's fitted preprocessing, as a checkpoint keeps it
    }


def selection_record(family: EstimatorFamily, fits: dict[str, TaskFit], model_file: str) -> dict[str, Any]:
    """results.json's ``classical`` entry: the family, the grid, each task's chosen options and validation AUROCs."""
    return {
        "model": family.name,
        "model_file": model_file,
        "training": NO_TRAINER,
        "searched": family.searched(),
        "candidates": family.candidates(),
        "per_task": {
            t: {"chosen": f.options, "val_auroc": f.val_auroc, "constant": f.constant} for t, f in fits.items()
        },
    }


def parameter_counts(fits: dict[str, TaskFit]) -> dict[str, Any]:
    """Coefficients and intercepts (linear models) or tree nodes (forests) of the fitted estimators; 1 for a prior."""
    per_task = {t: _size(f.estimator) for t, f in fits.items()}
    total = sum(per_task.values())
    return {"total": total, "trainable": total, "per_task": per_task}


def _size(estimator: Any) -> int:
    if hasattr(estimator, "coef_"):
        return int(estimator.coef_.size + np.size(estimator.intercept_))
    if hasattr(estimator, "estimators_"):
        return int(sum(tree.tree_.node_count for tree in estimator.estimators_))
    return 1
