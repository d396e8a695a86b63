"""``approach=transfer``: (a) pre-train on ``source``, (b) fresh heads for the tasks of ``data``, fine-tune.

Stage (a) trains a multitask network on the data config ``source`` (outputs in ``<run>/pretrain/``), or is
skipped with ``transfer.checkpoint=PATH`` (any checkpoint or run directory mtlkit wrote; for a separate run,
``transfer.task`` picks whose backbone; for a transfer run's folder, ``transfer.stage`` picks its pre-trained
backbone, the default, or its fine-tuned one). Source and target inputs are checked to fit one backbone before
anything is trained (:mod:`mtlkit.approaches.transfer_inputs`). Stage (b) loads that backbone into a freshly
built ``model``, drops the source heads, puts newly initialised heads (``finetune.head_layers`` layers) for the
target tasks on it, and trains with the ``finetune`` strategy (outputs in ``<run>/finetune/``, and
``<run>/probe/`` for lp_ft).
results.json holds the target metrics, with the same keys as every approach, and a summary of the source.
"""

from __future__ import annotations

import time
import warnings
from itertools import groupby
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from omegaconf import DictConfig, OmegaConf

from mtlkit.approaches.base import Approach, ApproachResult
from mtlkit.approaches.fit import FitResult, fit_and_evaluate
from mtlkit.approaches.stages import stage_config
from mtlkit.approaches.transfer_inputs import InputSide, check_inputs, config_side
from mtlkit.build.builders import build_backbone, build_datamodule, build_module, build_trainer
from mtlkit.console import get_console
from mtlkit.data.base import MultiLabelDataModule
from mtlkit.errors import ConfigError
from mtlkit.finetune.phases import FreezeSchedule, phase_record, set_trainable
from mtlkit.finetune.strategy import available_strategies, load_strategy
from mtlkit.models.module import MultiTaskModule
from mtlkit.models.trainable import print_trainable
from mtlkit.runtime.budget import plan_run
from mtlkit.runtime.checkpoints import backbone_state, load_backbone, load_checkpoint, resolve_transfer_source
from mtlkit.runtime.loggers import finish_loggers

SOURCE = "the source data"
TARGET = "the target data"


def pretrain(cfg: DictConfig, target: InputSide | None = None) -> tuple[dict[str, Any], Path | str, dict[str, Any]]:
    """Stage (a): a multitask network on ``cfg.source``; returns its checkpoint dict, file and a summary.

    ``target``: the target's inputs, checked against the source's as soon as its data are built, before training.
    """
    stage = stage_config(cfg, "pretrain", trainer=cfg.transfer.get("pretrain"), data=cfg.source)
    t0 = time.perf_counter()
    sdm = build_datamodule(stage.data)
    data_s = time.perf_counter() - t0
    if target is not None:
        check_inputs(cfg.model, config_side(cfg.source, "source", SOURCE, sdm.input_shape), target)
    plan_run(stage, sdm, data_key="source", epochs_key="transfer.pretrain.max_epochs", what="pre-training")
    module = build_module(
        stage, sdm.input_shape, sdm.tasks, meta={"stage": "pretrain"}, label_counts=sdm.label_counts()
    )
    trainer = build_trainer(stage)
    params = print_trainable(module, f"pre-training on '{sdm.name}' ({len(sdm.tasks)} tasks)")
    out = fit_and_evaluate(trainer, module, sdm)
    finish_loggers(trainer)
    file = out.best_checkpoint
    if file:
        ckpt, file = load_checkpoint(file)
    else:  # no checkpoint callback: take the final weights
        ckpt = {"state_dict": module.state_dict()}
        module.on_save_checkpoint(ckpt)
        file = "the pre-trained network (final weights, no checkpoint callback)"
    summary = {
        "data": {"name": sdm.name, "sizes": sdm.sizes(), "input_shape": list(sdm.input_shape), "tasks": sdm.tasks},
        "label_counts": sdm.label_counts(),
        "metrics": out.metrics,
        "best_checkpoint": out.best_checkpoint,
        "epochs": out.epochs,
        "global_steps": out.global_steps,
        "parameters": params,
        "timings": {"data_s": data_s, **out.timings},
    }
    return ckpt, file, summary


def checkpoint_summary(meta: dict[str, Any]) -> dict[str, Any]:
    """What results.json records about a checkpoint given with ``transfer.checkpoint``."""
    config = meta.get("config") or {}
    return {
        "approach": meta.get("approach") or (config.get("approach") or {}).get("name"),
        "stage": meta.get("stage"),
        "tasks": meta.get("tasks"),
        "input_shape": meta.get("input_shape"),
        "data_config": config.get("data"),
        "model_config": config.get("model"),
    }


def finetune_settings(cfg: DictConfig) -> dict[str, Any]:
    settings = OmegaConf.to_container(cfg.finetune, resolve=True)
    if not isinstance(settings, dict) or (settings.get("_target_") or settings.get("strategy")) is None:
        raise ConfigError(
            f"approach=transfer needs a finetune config group: finetune={'|'.join(available_strategies())}"
        )
    return settings


def build_finetune_module(
    cfg: DictConfig,
    dm: MultiLabelDataModule,
    ckpt: dict[str, Any] | None,
    file: Path | str,
    settings: dict[str, Any],
) -> tuple[MultiTaskModule, dict[str, Any]]:
    """``cfg.model`` with the checkpoint's backbone weights (``ckpt`` None: the model's own pretrained weights,
    ``transfer.source=pretrained``) and freshly initialised heads for the tasks of ``dm``."""
    backbone = build_backbone(cfg.model, dm.input_shape)
    origin: dict[str, Any] = {}
    if ckpt is not None:
        state, origin = backbone_state(ckpt, cfg.transfer.get("task"), file)
        load_backbone(backbone, state, ckpt["mtlkit"], cfg.model, file)
        saved_shape = ckpt["mtlkit"].get("input_shape")
        if saved_shape and list(saved_shape) != list(dm.input_shape):
            get_console().print(
                f"[yellow]note: the backbone was trained on inputs of shape {list(saved_shape)}; "
                f"the target data has {list(dm.input_shape)}"
            )
    module = build_module(  # TaskHeads are created here: freshly initialised
        cfg,
        dm.input_shape,
        dm.tasks,
        backbone=backbone,
        meta={"stage": "finetune", "source_checkpoint": str(file)},
        label_counts=dm.label_counts(),
        head_layers=int(settings.get("head_layers") or 1),
        head_hidden=settings.get("head_hidden"),
        backbone_lr_scale=float(settings.get("backbone_lr_scale", 1.0)),
        lr_decay=None if settings.get("lr_decay") is None else float(settings["lr_decay"]),
    )
    network = f" (network of task '{origin['task']}')" if "task" in origin else ""
    get_console().print(
        f"transfer: backbone from {file}{network}; new heads for {dm.tasks}; strategy {settings['strategy']}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    return module, origin


def pretrained_weights(cfg: DictConfig) -> str | None:
    """``transfer.source=pretrained``: the model's own weights file (checked); None for ``transfer.source=data``."""
    source = cfg.transfer.get("source") or "data"
    if source == "data":
        return None
    if source != "pretrained":
        raise ConfigError(f"transfer.source={source}: choose data (pre-train on `source` here) or pretrained")
    if cfg.transfer.get("checkpoint") is not None:
        raise ConfigError(
            "transfer.source=pretrained starts from the model's own weights, transfer.checkpoint from another run's: "
            "give one of them (drop transfer.checkpoint, or set transfer.source=data)"
        )
    weights = cfg.model.get("pretrained")
    if weights is None:
        raise ConfigError(
            "transfer.source=pretrained needs a model with its own weights: model=timm model.name=NAME "
            "model.pretrained=FILE (README, 'Fine-tuning a pretrained network')"
        )
    return str(weights)


def model_summary(cfg: DictConfig) -> dict[str, Any]:
    """The model config, as results.json records a transfer source's."""
    return OmegaConf.to_container(cfg.model, resolve=True)  # type: ignore[return-value]


def check_no_resume(cfg: DictConfig) -> None:
    """``ckpt_path`` (resuming one fit) does not apply to the two stages of a transfer run: say what does."""
    if cfg.get("ckpt_path") not in (None, "last"):
        raise ConfigError(
            "ckpt_path resumes a single-stage run; approach=transfer has two stages. To skip pre-training, "
            "give its checkpoint as transfer.checkpoint=PATH"
        )


def source_checkpoint(cfg: DictConfig) -> tuple[Path, str | None] | None:
    """The file ``transfer.checkpoint`` names and the transfer stage taken (None: pre-train here).

    An empty ``transfer.checkpoint=`` is an error (it would otherwise pre-train again, silently), and so is
    ``transfer.stage`` without a checkpoint.
    """
    path, stage = cfg.transfer.get("checkpoint"), cfg.transfer.get("stage")
    if path is None:
        if stage is not None:
            raise ConfigError(
                f"transfer.stage={stage} picks a backbone of the transfer run given as transfer.checkpoint=RUN_DIR; "
                "give that folder too, or drop transfer.stage"
            )
        return None
    return resolve_transfer_source(path, stage)


def describe_source(file: Path, stage: str | None) -> str:
    """How the backbone's file was chosen, for the console."""
    if stage is None:
        return str(file)
    other = "finetune" if stage == "pretrain" else "pretrain"
    return f"its {stage} backbone, {file} (transfer.stage={other}: its {other} one)"


class Transfer(Approach):
    """Pre-train (or load a checkpoint), then fine-tune fresh heads on ``dm`` with the ``finetune`` strategy."""

    uses_finetune = True

    def check(self, cfg: DictConfig) -> None:
        """Before any data is built: ``ckpt_path`` (the message names the alternative), the strategy's settings,
        the checkpoint to start from, and whether the source's and target's configs give inputs of one backbone."""
        check_no_resume(cfg)
        load_strategy(finetune_settings(cfg))
        if pretrained_weights(cfg) is None and source_checkpoint(cfg) is None:
            check_inputs(cfg.model, config_side(cfg.source, "source", SOURCE), config_side(cfg.data, "data", TARGET))

    def run(self, cfg: DictConfig, dm: MultiLabelDataModule) -> ApproachResult:
        check_no_resume(cfg)
        settings = finetune_settings(cfg)
        strategy = load_strategy(settings)
        fast = bool(cfg.trainer.get("fast_dev_run"))
        phases = strategy.phases(None if fast else cfg.trainer.get("max_epochs"))  # fail before any training

        t0 = time.perf_counter()
        weights = pretrained_weights(cfg)
        chosen = None if weights is not None else source_checkpoint(cfg)
        target = config_side(cfg.data, "data", TARGET, dm.input_shape)
        stage_taken = None
        ckpt: dict[str, Any] | None
        if weights is not None:  # transfer.source=pretrained: the model loads its own weights
            ckpt, file = None, weights
            source = {"pretrained_here": False, "pretrained_weights": weights, "model_config": model_summary(cfg)}
        elif chosen is not None:
            ckpt, file = load_checkpoint(chosen[0])
            stage_taken = chosen[1]
            shape = ckpt["mtlkit"].get("input_shape")
            check_inputs(cfg.model, InputSide("the checkpoint's backbone", tuple(shape) if shape else None), target)
            if stage_taken is not None:
                get_console().print(
                    f"transfer: {cfg.transfer.checkpoint} is a transfer run: {describe_source(file, stage_taken)}",
                    markup=False,
                    highlight=False,
                    soft_wrap=True,
                )
            source = {"pretrained_here": False, **checkpoint_summary(ckpt["mtlkit"])}
        else:
            check_inputs(cfg.model, config_side(cfg.source, "source", SOURCE), target)
            ckpt, file, summary = pretrain(cfg, target)
            source = {"pretrained_here": True, **summary}
        pretrain_s = time.perf_counter() - t0
        pl.seed_everything(cfg.seed, workers=True, verbose=False)  # stage (b) is the same whether (a) ran here or not
        module, origin = build_finetune_module(cfg, dm, ckpt, file, settings)

        records: list[dict[str, Any]] = []
        out: FitResult | None = None
        trainer: pl.Trainer | None = None
        fits = [list(g) for _, g in groupby(phases, key=lambda p: p.fit)]
        for i, fit_phases in enumerate(fits):
            last = i == len(fits) - 1
            name = "finetune" if last else fit_phases[0].name
            epochs = fit_phases[0].epochs
            stage = stage_config(cfg, name, trainer=None if epochs is None or fast else {"max_epochs": epochs})
            extra, schedule = [], None
            if len(fit_phases) == 1:
                set_trainable(module.backbone, fit_phases[0].trainable_blocks, fit_phases[0].blocks)
                records.append(phase_record(fit_phases[0], module))
                print_trainable(module, f"fine-tuning, phase '{fit_phases[0].name}'")
            else:
                set_trainable(module.backbone, None)  # every phase's parameters enter the optimizer
                schedule = FreezeSchedule(fit_phases)
                extra.append(schedule)
            trainer = build_trainer(stage, extra_callbacks=extra)
            with warnings.catch_warnings():  # frozen blocks are in eval mode on purpose
                warnings.filterwarnings("ignore", message=r".*module\(s\) in eval mode at the start of training")
                out = fit_and_evaluate(trainer, module, dm)
            if schedule is not None:
                records += schedule.records
            if not last:
                records[-1]["metrics"] = out.metrics
                records[-1]["best_checkpoint"] = out.best_checkpoint
                finish_loggers(trainer)  # the best epoch's weights stay loaded for the next fit
        assert trainer is not None and out is not None
        widest = max(records, key=lambda r: r["parameters"]["trainable"])["parameters"]
        recorded = {k: v for k, v in settings.items() if k != "_target_"}
        return ApproachResult(
            fit=out,
            parameters=widest,
            trainer=trainer,
            extra={
                "transfer": {
                    "source": source,
                    "checkpoint": str(file),
                    "stage": stage_taken,
                    "task": origin.get("task"),
                },
                "finetune": {**recorded, "strategy": strategy.name, "phases": records},
                **out.task_gradients,  # of the last (fine-tuning) fit
            },
            timings={"pretrain_s": pretrain_s},
        )
