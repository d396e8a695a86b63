"""Building blocks shared by every approach: data, model, trainer, fit + evaluate, results.

``train(cfg)`` is what ``mtlkit-train`` runs; an approach (``cfg.approach.name``) decides which modules are
built and trained, and every approach ends in the same ``results.json``.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import Callback, ModelCheckpoint
from pytorch_lightning.loggers import Logger, WandbLogger

from mtlkit.approaches import note_unused_settings
from mtlkit.data.base import MultiLabelDataModule
from mtlkit.errors import ConfigError
from mtlkit.launch import prepare_launch
from mtlkit.models.module import MultiTaskModule
from mtlkit.results import print_metrics_table, write_results
from mtlkit.trainable import print_trainable


def build_datamodule(data_cfg: DictConfig) -> MultiLabelDataModule:
    dm = instantiate(data_cfg, _convert_="all")
    if not isinstance(dm, MultiLabelDataModule):
        raise ConfigError(f"data._target_ must build a MultiLabelDataModule, got {type(dm).__name__}")
    dm.setup()
    return dm


def build_module(cfg: DictConfig, dm: MultiLabelDataModule, tasks: list[str] | None = None) -> MultiTaskModule:
    """The multitask LightningModule for ``cfg.model`` on ``dm``'s inputs and ``tasks`` (default: all)."""
    backbone = build_backbone(cfg, dm)
    return MultiTaskModule(backbone=backbone, tasks=tasks or dm.tasks, **module_options(cfg, dm))


def build_backbone(cfg: DictConfig, dm: MultiLabelDataModule) -> torch.nn.Module:
    """A freshly initialised ``cfg.model`` for ``dm``'s input shape."""
    return instantiate(cfg.model, input_shape=list(dm.input_shape))


def module_options(cfg: DictConfig, dm: MultiLabelDataModule, **meta: Any) -> dict[str, Any]:
    """The MultiTaskModule arguments every approach takes from ``cfg`` (optimizer, heads, loss, checkpoint meta)."""
    scheduler = instantiate(cfg.scheduler) if cfg.get("scheduler") else None
    return dict(
        optimizer=instantiate(cfg.optimizer),
        scheduler=scheduler,
        head_layers=cfg.head.layers,
        head_hidden=cfg.head.hidden,
        loss_normalization=cfg.loss.normalization,
        loss_unknown=cfg.loss.unknown,
        meta={
            "config": OmegaConf.to_container(cfg, resolve=True),
            "input_shape": list(dm.input_shape),
            "approach": cfg.approach.name,
            **meta,
        },
    )


def instantiate_group(cfg: DictConfig | None) -> list[Any]:
    """One object per entry of a group of named configs (callbacks, loggers); null entries are switched off."""
    return [instantiate(c) for c in (cfg or {}).values() if c is not None and "_target_" in c]


def build_trainer(cfg: DictConfig, extra_callbacks: list[Callback] | None = None, **overrides: Any) -> pl.Trainer:
    callbacks: list[Callback] = instantiate_group(cfg.get("callbacks")) + list(extra_callbacks or [])
    loggers: list[Logger] = instantiate_group(cfg.get("logger"))
    trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False, **overrides)
    for lg in loggers:
        lg.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
    return trainer


def count_parameters(module: torch.nn.Module) -> dict[str, Any]:
    total = sum(p.numel() for p in module.parameters())
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    return {"total": total, "trainable": trainable, "trainable_pct": 100.0 * trainable / max(total, 1)}


def best_checkpoint(trainer: pl.Trainer) -> str | None:
    cb = trainer.checkpoint_callback
    if isinstance(cb, ModelCheckpoint) and cb.best_model_path and Path(cb.best_model_path).exists():
        return cb.best_model_path
    return None


def fit_and_evaluate(
    trainer: pl.Trainer, module: MultiTaskModule, dm: MultiLabelDataModule, ckpt_path: str | None = None
) -> dict[str, Any]:
    """Fit, then evaluate the best checkpoint (or the final weights) on val and test."""
    t0 = time.perf_counter()
    trainer.fit(module, datamodule=dm, ckpt_path=ckpt_path)
    fit_s = time.perf_counter() - t0
    best = best_checkpoint(trainer)
    t1 = time.perf_counter()
    trainer.validate(module, datamodule=dm, ckpt_path=best, verbose=False)
    trainer.test(module, datamodule=dm, ckpt_path=best, verbose=False)
    return {
        "metrics": {s: module.results[s] for s in ("val", "test") if s in module.results},
        "best_checkpoint": best,
        "epochs": trainer.current_epoch,
        "global_steps": trainer.global_step,
        "timings": {"fit_s": fit_s, "evaluate_s": time.perf_counter() - t1},
    }


def run_multitask(cfg: DictConfig, dm: MultiLabelDataModule) -> dict[str, Any]:
    """One network, shared backbone, one head per task, trained on all tasks at once."""
    module = build_module(cfg, dm)
    trainer = build_trainer(cfg)
    params = print_trainable(module, "multitask")
    out = fit_and_evaluate(trainer, module, dm, ckpt_path=cfg.get("ckpt_path"))
    return {**out, "parameters": params, "trainer": trainer}


def approach_registry() -> dict[str, Callable[[DictConfig, MultiLabelDataModule], dict[str, Any]]]:
    """``approach.name`` -> the function that builds, trains and evaluates it (see mtlkit.approaches)."""
    from mtlkit.approaches.separate import run_separate
    from mtlkit.approaches.transfer import run_transfer

    return {"multitask": run_multitask, "separate": run_separate, "transfer": run_transfer}


def train(cfg: DictConfig) -> dict[str, Any]:
    """Run ``cfg.approach`` on ``cfg.data`` and write ``results.json`` into ``cfg.paths.output_dir``."""
    start = time.perf_counter()
    name = cfg.approach.name
    registry = approach_registry()
    if name not in registry:
        raise ConfigError(f"unknown approach {name!r}; choose one of {sorted(registry)}")
    note_unused_settings(cfg)
    if name == "transfer":
        from mtlkit.approaches.transfer import check_no_resume

        check_no_resume(cfg)  # before ckpt_path is resolved, so the message names the alternative
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    prepare_launch(cfg)
    t0 = time.perf_counter()
    dm = build_datamodule(cfg.data)
    data_s = time.perf_counter() - t0
    out = registry[name](cfg, dm)
    trainer: pl.Trainer = out.pop("trainer")
    results = {
        "status": "completed",
        "approach": name,
        "data": {
            "name": dm.name,
            "sizes": dm.sizes(),
            "input_shape": list(dm.input_shape),
            "missing_rate": OmegaConf.to_container(cfg.data, resolve=True).get("missing_rate"),
        },
        "tasks": dm.tasks,
        "label_counts": dm.label_counts(),
        "seed": cfg.seed,
        **out,
        "timings": {"data_s": data_s, **out.get("timings", {}), "total_s": time.perf_counter() - start},
        "environment": {
            "torch": torch.__version__,
            "lightning": pl.__version__,
            "python": platform.python_version(),
            "accelerator": type(trainer.accelerator).__name__,
            "devices": trainer.num_devices,
        },
        "overrides": command_line_overrides(),
    }
    if trainer.is_global_zero:
        path = write_results(results, cfg.paths.output_dir)
        print_metrics_table(results["metrics"], title=f"{name} on {dm.name} ({path})")
    finish_loggers(trainer)
    return results


def command_line_overrides() -> list[str]:
    """The ``key=value`` overrides of this job (what a sweep varies); empty outside a Hydra app."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return []
    return list(HydraConfig.get().overrides.task)


def finish_loggers(trainer: pl.Trainer) -> None:
    """Close wandb runs, so that the next job of a multirun logs into a run of its own."""
    for lg in trainer.loggers:
        if isinstance(lg, WandbLogger):
            import wandb

            wandb.finish()
