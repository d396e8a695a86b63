"""The LightningModule: a backbone, the task heads, the masked loss and per-task metrics."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import pytorch_lightning as pl
import torch
from torch import nn
from torchmetrics import MeanMetric

from mtlkit.distributed import shard_loss, world_size
from mtlkit.losses import masked_bce, masked_bce_terms
from mtlkit.metrics import METRICS, MaskedMultilabelMetrics
from mtlkit.models.heads import TaskHeads

EVAL_SPLITS = ("val", "test")

# Epoch-level metrics are computed from states gathered from every process (torchmetrics), so each process logs
# the same value: Lightning's advice to add sync_dist=True (one all-reduce per logged value) does not apply.
warnings.filterwarnings("ignore", message=r".*when logging on epoch level in distributed setting.*")


class MultiTaskModule(pl.LightningModule):
    """``logits = heads(backbone(x))``: one logit per task, trained with the masked seed loss.

    Args:
        backbone: a :class:`mtlkit.models.backbones.Backbone` (input -> features of ``feature_dim``).
        tasks: task names, in the data module's order.
        optimizer: a partial ``torch.optim`` constructor taking the parameter groups.
        scheduler: an optional partial LR scheduler; ``total_steps`` or ``T_max`` is filled in.
        head_layers / head_hidden: depth and width of each task head.
        loss_normalization / loss_unknown: see :func:`mtlkit.losses.masked_bce`.
        backbone_lr_scale: learning-rate multiplier for backbone parameters.
        meta: stored in every checkpoint under ``"mtlkit"`` (config, tasks, input shape).
    """

    def __init__(
        self,
        backbone: nn.Module,
        tasks: Sequence[str],
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable[..., Any] | None = None,
        head_layers: int = 1,
        head_hidden: int | None = None,
        loss_normalization: str = "examples",
        loss_unknown: str = "ignore",
        backbone_lr_scale: float = 1.0,
        meta: dict | None = None,
    ):
        super().__init__()
        self.backbone = backbone
        self.tasks = list(tasks)
        self.heads = TaskHeads(backbone.feature_dim, self.tasks, layers=head_layers, hidden=head_hidden)
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.loss_normalization = loss_normalization
        self.loss_unknown = loss_unknown
        self.backbone_lr_scale = backbone_lr_scale
        self.meta = dict(meta or {})
        self.metrics = nn.ModuleDict({s: MaskedMultilabelMetrics(self.tasks) for s in EVAL_SPLITS})
        self.eval_loss = nn.ModuleDict({s: MeanMetric() for s in EVAL_SPLITS})  # sum of losses / sum of divisors
        self.results: dict[str, dict] = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.heads(self.backbone(x))

    def loss(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return masked_bce(logits, batch["y"], batch["mask"], self.loss_normalization, self.loss_unknown)

    def loss_terms(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """``(sum of the loss over counted entries, divisor)`` of this batch (:func:`masked_bce_terms`)."""
        return masked_bce_terms(logits, batch["y"], batch["mask"], self.loss_normalization, self.loss_unknown)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        # Normalised by the divisor of the global batch, so that DDP means the same as one process
        # (mtlkit.distributed). Every head is in the graph even where its task has no label in this batch
        # (masked entries give zero gradients), so DDP never sees an unused parameter.
        total, divisor = self.loss_terms(self(batch["x"]), batch)
        loss = shard_loss(total, divisor, len(batch["y"]))
        m = len(batch["y"]) if world_size() == 1 else int(loss.examples.item())
        self.log("train/loss", loss.value, on_step=True, on_epoch=True, prog_bar=True, batch_size=m)
        return loss.backward

    def _eval_step(self, split: str, batch: dict[str, torch.Tensor]) -> None:
        logits = self(batch["x"])
        total, divisor = self.loss_terms(logits, batch)
        if total.dim():  # one term per task (approach=separate): the batch's loss, weighted by its m
            self.eval_loss[split].update((total / divisor.clamp(min=1)).sum(), weight=len(batch["y"]))
        else:
            self.eval_loss[split].update(total / divisor.clamp(min=1), weight=divisor)
        self.metrics[split].update(torch.sigmoid(logits), batch["y"], batch["mask"])

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._eval_step("val", batch)

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._eval_step("test", batch)

    def predict_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> dict[str, torch.Tensor]:
        return {"index": batch["index"], "probs": torch.sigmoid(self(batch["x"]))}

    def _eval_epoch_end(self, split: str) -> None:
        # Both metrics gather their states from every process, so every process logs the same values.
        res = self.metrics[split].compute()
        loss = self.eval_loss[split].compute()
        # Fresh states must be normal tensors: made under Lightning's inference mode they could not be updated
        # by a later fit of the same module (finetune=lp_ft fits twice).
        with torch.inference_mode(False):
            self.metrics[split].reset()
            self.eval_loss[split].reset()
        self.results[split] = res
        if self.trainer.sanity_checking:
            return
        self.log(f"{split}/loss", loss)
        for name in METRICS:
            self.log(f"{split}/{name}_macro", res["macro"][name], prog_bar=name == "auroc")
        for task, row in res["per_task"].items():
            for name in METRICS:
                self.log(f"{split}/{name}/{task}", row[name])

    def on_validation_epoch_end(self) -> None:
        self._eval_epoch_end("val")

    def on_test_epoch_end(self) -> None:
        self._eval_epoch_end("test")

    def parameter_groups(self) -> list[dict]:
        """Trainable parameters, backbone and heads in separate groups (for per-group learning rates)."""
        groups = [
            {
                "name": "backbone",
                "params": [p for p in self.backbone.parameters() if p.requires_grad],
                "lr_scale": self.backbone_lr_scale,
            },
            {"name": "heads", "params": [p for p in self.heads.parameters() if p.requires_grad], "lr_scale": 1.0},
        ]
        return [g for g in groups if g["params"]]

    def configure_optimizers(self):
        groups = self.parameter_groups()
        optimizer = self.optimizer_factory(params=[{"params": g["params"]} for g in groups])
        for group, spec in zip(optimizer.param_groups, groups):
            group["lr"] = group["lr"] * spec["lr_scale"]
        if self.scheduler_factory is None:
            return optimizer
        params = inspect.signature(self.scheduler_factory).parameters
        kwargs: dict[str, Any] = {}
        steps = int(self.trainer.estimated_stepping_batches)
        if "total_steps" in params:
            kwargs["total_steps"] = steps
            if "max_lr" in params:
                kwargs["max_lr"] = [g["lr"] for g in optimizer.param_groups]
        elif "T_max" in params:
            kwargs["T_max"] = steps
        scheduler = self.scheduler_factory(optimizer, **kwargs)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["mtlkit"] = {
            "architecture": "shared",  # one backbone; SeparateModule writes "separate"
            **self.meta,
            "tasks": self.tasks,
            "head_layers": self.heads.layers,
            "head_hidden": self.heads.hidden,
            "feature_dim": self.heads.in_features,
        }
