"""``approach=separate``: one complete network per task, trained side by side in one run on the same batches."""

from __future__ import annotations

from omegaconf import DictConfig

from mtlkit.approaches.base import Approach, ApproachResult
from mtlkit.approaches.fit import fit_and_evaluate
from mtlkit.build.builders import build_module, build_trainer, weighting_class
from mtlkit.data.base import MultiLabelDataModule
from mtlkit.errors import ConfigError
from mtlkit.models.separate import SeparateModule
from mtlkit.models.trainable import print_trainable


class Separate(Approach):
    """T independent networks (backbone + head), each trained only on its own task's labelled entries."""

    def check(self, cfg: DictConfig) -> None:
        """A weighting that needs shared parameters is refused before any data is built."""
        super().check(cfg)
        cls = weighting_class(cfg)
        if cls.needs_shared_parameters:
            raise ConfigError(
                f"{cls.__name__} works on the task gradients of shared parameters, and approach=separate shares "
                "none: use it with approach=multitask or transfer, or choose a loss weighting"
            )

    def run(self, cfg: DictConfig, dm: MultiLabelDataModule) -> ApproachResult:
        module = build_module(cfg, dm.input_shape, dm.tasks, SeparateModule, label_counts=dm.label_counts())
        trainer = build_trainer(cfg)
        params = print_trainable(module, f"separate ({len(dm.tasks)} networks)")
        params["networks"] = len(dm.tasks)
        params["per_network"] = params["total"] // len(dm.tasks)
        fit = fit_and_evaluate(trainer, module, dm, ckpt_path=cfg.get("ckpt_path"))
        # No parameter is shared, so there are no task gradients to compare: only the weights are recorded.
        return ApproachResult(fit=fit, parameters=params, trainer=trainer, extra=fit.task_gradients)
