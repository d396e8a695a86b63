"""``approach=multitask``: one network, a shared backbone and one head per task, trained on all tasks at once."""

from __future__ import annotations

from omegaconf import DictConfig

from mtlkit.approaches.base import Approach, ApproachResult
from mtlkit.approaches.fit import fit_and_evaluate
from mtlkit.build.builders import build_module, build_trainer
from mtlkit.data.base import MultiLabelDataModule
from mtlkit.grouping.outputs import affinity_callback, finish_affinity
from mtlkit.models.trainable import print_trainable


class Multitask(Approach):
    """One shared network; a single-task network is this approach with ``data.tasks=[one]``.

    With ``affinity=tag`` the task affinity is measured during training (training unchanged) and written with the
    proposed groupings (affinity.csv, affinity.png, results.json).
    """

    measures_affinity = True

    def run(self, cfg: DictConfig, dm: MultiLabelDataModule) -> ApproachResult:
        module = build_module(cfg, dm.input_shape, dm.tasks, label_counts=dm.label_counts())
        affinity = affinity_callback(cfg)
        trainer = build_trainer(cfg, extra_callbacks=[affinity] if affinity else None)
        params = print_trainable(module, "multitask")
        fit = fit_and_evaluate(trainer, module, dm, ckpt_path=cfg.get("ckpt_path"))
        extra = dict(fit.task_gradients)
        if affinity is not None and trainer.is_global_zero:
            extra.update(finish_affinity(affinity, cfg.paths.output_dir, title=f"task affinity on {dm.name}"))
        return ApproachResult(fit=fit, parameters=params, trainer=trainer, extra=extra)
