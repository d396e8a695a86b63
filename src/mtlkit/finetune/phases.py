"""Phases of fine-tuning for ``approach=transfer``: which backbone blocks train, and when.

A strategy (:mod:`mtlkit.finetune.strategy`) is a list of phases; in each phase the last ``trainable_blocks``
blocks of the backbone train (``None``: all of it, 0: none, only the heads). A frozen part keeps
``requires_grad=False`` and stays in eval mode, so its BatchNorm statistics and dropout are those of the
pre-trained network: its parameters and buffers stay bit-identical however long the heads train.

Phases of one fit (``gradual``) keep every parameter in the optimizer from the start (a frozen one has no
gradient, so the optimizer leaves it alone) and flip ``requires_grad`` at the epoch start. Lightning's
``BackboneFinetuning`` instead adds a parameter group mid-run, which the default OneCycleLR schedule does not
survive (``KeyError: 'initial_lr'`` at its next step), and freezes BatchNorm by switching off its running
statistics (the head then trains on batch statistics and is evaluated on running ones); hence
:class:`FreezeSchedule`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pytorch_lightning as pl
from torch import nn

from mtlkit.errors import ConfigError
from mtlkit.models.trainable import print_trainable, trainable_summary


@dataclass(frozen=True)
class Phase:
    """``trainable_blocks`` last backbone blocks train from ``start_epoch`` on; ``fit`` numbers separate fits."""

    name: str
    trainable_blocks: int | None
    start_epoch: int = 0
    fit: int = 0
    epochs: int | None = None


def backbone_blocks(backbone: nn.Module) -> nn.ModuleList:
    blocks = getattr(backbone, "blocks", None)
    if not isinstance(blocks, nn.ModuleList) or len(blocks) == 0:
        raise ConfigError(
            f"{type(backbone).__name__} exposes no ordered `blocks`; freezing part of a backbone needs them "
            "(see mtlkit.models.backbones.Backbone), or use finetune=full"
        )
    return blocks


def set_trainable(backbone: nn.Module, trainable_blocks: int | None) -> None:
    """Let the last ``trainable_blocks`` blocks of ``backbone`` train (None: all); freeze the rest, in eval mode.

    Parameters outside the blocks count as the input side (frozen unless all train), except a ``pool`` module,
    which belongs to the last block.
    """
    if trainable_blocks is None:
        backbone.requires_grad_(True)
        backbone.train()
        return
    blocks = backbone_blocks(backbone)
    k = int(trainable_blocks)
    if not 0 <= k <= len(blocks):
        raise ConfigError(f"finetune.k={k} but the backbone has {len(blocks)} blocks; choose 0 to {len(blocks)}")
    pool = getattr(backbone, "pool", None)
    outside = [m for m in backbone.children() if m is not blocks]
    trainable = list(blocks)[len(blocks) - k :] + ([pool] if k > 0 and isinstance(pool, nn.Module) else [])
    frozen = list(blocks)[: len(blocks) - k] + [m for m in outside if not any(m is t for t in trainable)]
    for module in frozen:
        module.requires_grad_(False)
        module.eval()
    for module in trainable:
        module.requires_grad_(True)
        module.train()


def phase_record(phase: Phase, module: nn.Module) -> dict[str, Any]:
    """What results.json keeps of a phase: its schedule and which parameters train in it."""
    return {**asdict(phase), "parameters": trainable_summary(module)}


class FreezeSchedule(pl.Callback):
    """Applies the phase of the current epoch at every epoch start (so a resumed run lands in the right one).

    The LightningModule must hold every parameter that trains in any phase in its optimizer.
    """

    def __init__(self, phases: list[Phase]):
        self.phases = sorted(phases, key=lambda p: p.start_epoch)
        self.active: Phase | None = None
        self.records: list[dict[str, Any]] = []

    def phase_at(self, epoch: int) -> Phase:
        return [p for p in self.phases if p.start_epoch <= epoch][-1]

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        phase = self.phase_at(trainer.current_epoch)
        if phase is self.active:
            return
        set_trainable(pl_module.backbone, phase.trainable_blocks)
        self.active = phase
        if trainer.is_global_zero:
            print_trainable(pl_module, f"epoch {trainer.current_epoch}, phase '{phase.name}'")
        self.records.append(phase_record(phase, pl_module))
