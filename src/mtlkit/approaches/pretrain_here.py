"""``transfer.source=data`` (the default): pre-train a multitask network on the data config ``source`` in this run
(outputs in ``<run>/pretrain/``, trainer settings ``transfer.pretrain`` on top of ``trainer``) and hand over its
backbone."""

from __future__ import annotations

import time
from typing import Any

from omegaconf import DictConfig

from mtlkit.approaches.fit import fit_and_evaluate
from mtlkit.approaches.stages import stage_config
from mtlkit.approaches.transfer_inputs import SOURCE, TARGET, InputSide, check_inputs, config_side
from mtlkit.approaches.transfer_source import SourceBackbone, TransferSource
from mtlkit.build.builders import build_datamodule, build_module, build_trainer
from mtlkit.errors import ConfigError
from mtlkit.models.trainable import print_trainable
from mtlkit.runtime.budget import plan_run
from mtlkit.runtime.checkpoints import load_checkpoint
from mtlkit.runtime.loggers import finish_loggers


class PretrainHere(TransferSource):
    """Stage (a): a multitask network trained on ``cfg.source`` here."""

    @classmethod
    def preflight(cls, cfg: DictConfig) -> None:
        """``transfer.stage`` needs a checkpoint; the source's and target's configs must fit one backbone."""
        stage = cfg.transfer.get("stage")
        if stage is not None:
            raise ConfigError(
                f"transfer.stage={stage} picks a backbone of the transfer run given as transfer.checkpoint=RUN_DIR; "
                "give that folder too, or drop transfer.stage"
            )
        check_inputs(cfg.model, config_side(cfg.source, "source", SOURCE), config_side(cfg.data, "data", TARGET))

    def backbone(self, cfg: DictConfig, target: InputSide) -> SourceBackbone:
        """Train on ``cfg.source`` (its inputs checked against ``target`` as soon as its data are built)."""
        stage = stage_config(cfg, "pretrain", trainer=cfg.transfer.get("pretrain"), data=cfg.source)
        check_inputs(cfg.model, config_side(cfg.source, "source", SOURCE), target)
        t0 = time.perf_counter()
        sdm = build_datamodule(stage.data)
        data_s = time.perf_counter() - t0
        check_inputs(cfg.model, config_side(cfg.source, "source", SOURCE, sdm.input_shape), target)
        plan_run(stage, sdm, data_key="source", epochs_key="transfer.pretrain.max_epochs", what="pre-training")
        module = build_module(
            stage, sdm.input_shape, sdm.tasks, meta={"stage": "pretrain"}, label_counts=sdm.label_counts()
        )
        trainer = build_trainer(stage)
        params = print_trainable(module, f"pre-training on '{sdm.name}' ({len(sdm.tasks)} tasks)")
        out = fit_and_evaluate(trainer, module, sdm)
        finish_loggers(trainer)
        file: Any = out.best_checkpoint
        if file:
            ckpt, file = load_checkpoint(file)
        else:  # no checkpoint callback: take the final weights
            ckpt = {"state_dict": module.state_dict()}
            module.on_save_checkpoint(ckpt)
            file = "the pre-trained network (final weights, no checkpoint callback)"
        state, _ = type(module).transferable_backbone(
            ckpt["state_dict"], ckpt["mtlkit"], cfg.transfer.get("task"), file
        )
        record = {
            "pretrained_here": True,
            "data": {"name": sdm.name, "sizes": sdm.sizes(), "input_shape": list(sdm.input_shape), "tasks": sdm.tasks},
            "label_counts": sdm.label_counts(),
            "metrics": out.metrics,
            "best_checkpoint": out.best_checkpoint,
            "epochs": out.epochs,
            "global_steps": out.global_steps,
            "parameters": params,
            "timings": {"data_s": data_s, **out.timings},
        }
        return SourceBackbone(state, str(file), ckpt["mtlkit"], record)
