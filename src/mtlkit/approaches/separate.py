"""``approach=separate``: one complete network per task, trained side by side in one run on the same batches."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig

from mtlkit.data.base import MultiLabelDataModule
from mtlkit.models.separate import SeparateBackbones, SeparateModule
from mtlkit.pipeline import build_backbone, build_trainer, fit_and_evaluate, module_options
from mtlkit.trainable import print_trainable


def build_separate_module(cfg: DictConfig, dm: MultiLabelDataModule) -> SeparateModule:
    """T freshly initialised ``cfg.model`` backbones, each with its own head, for the tasks of ``dm``."""
    tasks = dm.tasks
    backbones = SeparateBackbones.build(lambda: build_backbone(cfg, dm), tasks)
    return SeparateModule(backbones, tasks, **module_options(cfg, dm))


def run_separate(cfg: DictConfig, dm: MultiLabelDataModule) -> dict[str, Any]:
    """T independent networks (backbone + head), each trained only on its own task's labelled entries."""
    module = build_separate_module(cfg, dm)
    trainer = build_trainer(cfg)
    params = print_trainable(module, f"separate ({len(dm.tasks)} networks)")
    params["networks"] = len(dm.tasks)
    params["per_network"] = params["total"] // len(dm.tasks)
    out = fit_and_evaluate(trainer, module, dm, ckpt_path=cfg.get("ckpt_path"))
    return {**out, "parameters": params, "trainer": trainer}
