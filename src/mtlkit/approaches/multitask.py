"""``approach=multitask``: one network, a shared backbone and one head per task, trained on all tasks at once."""

from __future__ import annotations

from omegaconf import DictConfig

from mtlkit.approaches.base import Approach, ApproachResult
from mtlkit.approaches.fit import fit_and_evaluate
from mtlkit.build.builders import build_module, build_trainer
from mtlkit.data.base import MultiLabelDataModule
from mtlkit.models.trainable import print_trainable


class Multitask(Approach):
    """One shared network; a single-task network is this approach with ``data.tasks=[one]``."""

    def run(self, cfg: DictConfig, dm: MultiLabelDataModule) -> ApproachResult:
        module = build_module(cfg, dm.input_shape, dm.tasks, label_counts=dm.label_counts())
        trainer = build_trainer(cfg)
        params = print_trainable(module, "multitask")
        fit = fit_and_evaluate(trainer, module, dm, ckpt_path=cfg.get("ckpt_path"))
        return ApproachResult(fit=fit, parameters=params, trainer=trainer, extra=fit.task_gradients)
