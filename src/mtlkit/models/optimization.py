"""How a module's parameters are optimised: the optimizer, the scheduler, per-group learning-rate scales and the
clipping a gradient method's manual step applies; one object instead of six constructor arguments."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class Optimization:
    """Args:
    optimizer: a partial ``torch.optim`` constructor taking the parameter groups.
    scheduler: an optional partial LR scheduler; ``total_steps`` (and ``max_lr``) or ``T_max`` is filled in.
    backbone_lr_scale: learning-rate multiplier for backbone parameters (``finetune.backbone_lr_scale``).
    lr_decay: layer-wise learning-rate decay over the backbone's blocks (``finetune.lr_decay``; None: none),
        see :mod:`mtlkit.models.lr_decay`.
    gradient_clip_val / gradient_clip_algorithm: clipping applied by the manual step of a gradient method (with
        automatic optimisation the Trainer's own settings apply).
    """

    optimizer: Callable[..., torch.optim.Optimizer]
    scheduler: Callable[..., Any] | None = None
    backbone_lr_scale: float = 1.0
    lr_decay: float | None = None
    gradient_clip_val: float | None = None
    gradient_clip_algorithm: str | None = None

    @classmethod
    def of(cls, value: Optimization | Callable[..., torch.optim.Optimizer]) -> Optimization:
        """``value`` itself, or a bare optimizer constructor with every other setting at its default."""
        return value if isinstance(value, Optimization) else cls(optimizer=value)

    def configure(self, groups: list[dict], total_steps: Callable[[], int]) -> Any:
        """What ``LightningModule.configure_optimizers`` returns for parameter ``groups`` (``{"params",
        "lr_scale"}``, each an optimizer group at ``lr * lr_scale``); ``total_steps`` (the Trainer's estimate) is
        asked whenever there is a scheduler."""
        optimizer = self.optimizer(params=[{"params": g["params"]} for g in groups])
        for group, spec in zip(optimizer.param_groups, groups):
            group["lr"] = group["lr"] * spec["lr_scale"]
        if self.scheduler is None:
            return optimizer
        params = inspect.signature(self.scheduler).parameters
        kwargs: dict[str, Any] = {}
        steps = total_steps()
        if "total_steps" in params:
            kwargs["total_steps"] = steps
            if "max_lr" in params:
                kwargs["max_lr"] = [g["lr"] for g in optimizer.param_groups]
        elif "T_max" in params:
            kwargs["T_max"] = steps
        scheduler = self.scheduler(optimizer, **kwargs)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
