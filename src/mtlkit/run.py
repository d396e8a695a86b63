"""``train(cfg)``: what ``mtlkit-train`` runs. Build the data, run the approach ``approach=`` chooses, write
``results.json`` (the same keys for every approach) into ``cfg.paths.output_dir``."""

from __future__ import annotations

import platform
import time
from typing import Any

import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from mtlkit.approaches.base import Approach
from mtlkit.build.builders import build_datamodule, check_buildable, check_gradient_method_launch
from mtlkit.build.learnable_data import check_learnable_data
from mtlkit.config_checks import check_config
from mtlkit.data.files.labelled_file import write_fitted_preprocessing
from mtlkit.data.model_normalization import resolve_model_normalization
from mtlkit.errors import ConfigError
from mtlkit.evaluation.results import print_metrics_table, write_results
from mtlkit.evaluation.thresholds import rule_of_config
from mtlkit.runtime.budget import plan_run
from mtlkit.runtime.launch import prepare_launch
from mtlkit.runtime.loggers import finish_loggers
from mtlkit.runtime.run_folder import overwrite_sweep_job


def build_approach(cfg: DictConfig) -> Approach:
    """The approach object of ``cfg.approach`` (its ``_target_`` class, with the config's other keys)."""
    if "_target_" not in cfg.approach:
        raise ConfigError(
            f"approach {cfg.approach.get('name')!r} has no _target_; choose approach=multitask|separate|transfer "
            "(or give approach._target_=<your Approach class>)"
        )
    approach = instantiate(cfg.approach, _convert_="all")
    if not isinstance(approach, Approach):
        raise ConfigError(f"approach._target_ must build a mtlkit.approaches.Approach, got {type(approach).__name__}")
    return approach


def train(cfg: DictConfig) -> dict[str, Any]:
    """Run ``cfg.approach`` on ``cfg.data`` and write ``results.json`` into ``cfg.paths.output_dir``."""
    start = time.perf_counter()
    check_config(cfg)  # every known key's type and range, and this machine, before any work (mtlkit.config_checks)
    overwrite_sweep_job(cfg)
    approach = build_approach(cfg)
    approach.check_model(cfg)  # model=logreg|rf only with approach=classical, networks only with the others
    approach.check(cfg)
    rule_of_config(cfg)  # eval.threshold checked before any data is built
    check_gradient_method_launch(cfg)  # before any data is built
    check_buildable(cfg)  # optimizer, scheduler and loss.pos_weight: what the config alone decides, before the data
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    prepare_launch(cfg)
    resolve_model_normalization(cfg)  # data.normalize=model: the pretrained model's mean/std, printed
    t0 = time.perf_counter()
    dm = build_datamodule(cfg.data)
    data_s = time.perf_counter() - t0
    warnings = check_learnable_data(cfg, dm.tasks, dm.label_counts())  # refuses what cannot learn, before training
    if approach.uses_trainer:
        plan_run(cfg, dm)  # mtlkit.runtime.budget: logging interval, a one-line warning for a run of few steps
    out = approach.run(cfg, dm)
    record = out.record()
    trainer = out.trainer
    results = {
        "status": "completed",
        "approach": approach.name,
        "data": {
            "name": dm.name,
            "sizes": dm.sizes(),
            "input_shape": list(dm.input_shape),
            "missing_rate": OmegaConf.to_container(cfg.data, resolve=True).get("missing_rate"),
        },
        "tasks": dm.tasks,
        "label_counts": dm.label_counts(),
        "seed": cfg.seed,
        **record,
        "timings": {"data_s": data_s, **record["timings"], "total_s": time.perf_counter() - start},
        "environment": {
            "torch": torch.__version__,
            "lightning": pl.__version__,
            "python": platform.python_version(),
            "accelerator": type(trainer.accelerator).__name__ if trainer else "scikit-learn (CPU)",
            "devices": trainer.num_devices if trainer else 1,
        },
        "overrides": command_line_overrides(),
        **({"warnings": warnings} if warnings else {}),
    }
    if trainer is None or trainer.is_global_zero:
        path = write_results(results, cfg.paths.output_dir)
        write_fitted_preprocessing(dm, cfg.paths.output_dir)  # preprocessing.json: a file's fitted features
        print_metrics_table(results["metrics"], title=f"{approach.name} on {dm.name} ({path})")
    if trainer is not None:
        finish_loggers(trainer)
    return results


def command_line_overrides() -> list[str]:
    """The ``key=value`` overrides of this job (what a sweep varies); empty outside a Hydra app."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return []
    return list(HydraConfig.get().overrides.task)


def optimized_metric(cfg: DictConfig, results: dict[str, Any]) -> float | None:
    """The value a Hydra sweeper optimises (``hparams_search=optuna``): ``optimized_metric``, a path into
    results.json's ``metrics`` such as ``val/macro/auroc`` (the default); None when the run has no such value."""
    name = str(cfg.get("optimized_metric") or "val/macro/auroc")
    value: Any = results.get("metrics", {})
    for part in name.replace(".", "/").split("/"):
        value = value.get(part) if isinstance(value, dict) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
