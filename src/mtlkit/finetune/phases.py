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

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from itertools import groupby
from typing import Any

import pytorch_lightning as pl
from torch import nn

from mtlkit.errors import ConfigError
from mtlkit.models.backbones.base import ordered_blocks
from mtlkit.models.trainable import print_trainable, trainable_summary


@dataclass(frozen=True)
class Phase:
    """``trainable_blocks`` last backbone blocks train from ``start_epoch`` on; ``fit`` numbers separate fits.

    ``blocks``, when given, names the blocks that train instead (0-based, input to output; ``finetune=blocks``).
    """

    name: str
    trainable_blocks: int | None
    start_epoch: int = 0
    fit: int = 0
    epochs: int | None = None
    blocks: tuple[int, ...] | None = None


def backbone_blocks(backbone: nn.Module) -> list[nn.Module]:
    """The backbone's ordered blocks (input to output), or a ConfigError if it has none."""
    blocks = ordered_blocks(backbone)
    if not blocks:
        raise ConfigError(
            f"{type(backbone).__name__} exposes no ordered blocks; freezing part of a backbone needs them "
            "(see mtlkit.models.backbones.Backbone), or use finetune=full"
        )
    return blocks


def chosen_blocks(n_blocks: int, trainable_blocks: int | None, blocks: Sequence[int] | None = None) -> list[int]:
    """Indices of the blocks that train: ``blocks`` as given, else the last ``trainable_blocks`` (None: all)."""
    if blocks is not None:
        bad = sorted({int(b) for b in blocks if not 0 <= int(b) < n_blocks})
        if bad:
            raise ConfigError(
                f"finetune.blocks names block(s) {bad} but the backbone has {n_blocks} blocks, numbered 0 (input "
                f"side) to {n_blocks - 1} (output side); choose among those"
            )
        return sorted({int(b) for b in blocks})
    if trainable_blocks is None:
        return list(range(n_blocks))
    k = int(trainable_blocks)
    if not 0 <= k <= n_blocks:
        raise ConfigError(f"finetune.k={k} but the backbone has {n_blocks} blocks; choose 0 to {n_blocks}")
    return list(range(n_blocks - k, n_blocks))


def set_trainable(backbone: nn.Module, trainable_blocks: int | None, blocks: Sequence[int] | None = None) -> None:
    """Let the last ``trainable_blocks`` blocks of ``backbone`` train (None: all), or the ``blocks`` named; freeze
    the rest, in eval mode (BatchNorm statistics and dropout as pre-trained).

    Parameters outside every block count as the input side: frozen unless the whole backbone trains.
    """
    if trainable_blocks is None and blocks is None:
        backbone.requires_grad_(True)
        backbone.train()
        return
    ordered = backbone_blocks(backbone)
    trainable = [ordered[i] for i in chosen_blocks(len(ordered), trainable_blocks, blocks)]
    backbone.requires_grad_(False)
    backbone.eval()
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
        set_trainable(pl_module.backbone, phase.trainable_blocks, phase.blocks)
        self.active = phase
        if trainer.is_global_zero:
            print_trainable(pl_module, f"epoch {trainer.current_epoch}, phase '{phase.name}'")
        self.records.append(phase_record(phase, pl_module))


def fits(phases: Sequence[Phase]) -> list[list[Phase]]:
    """The phases grouped by the fit (``Phase.fit``) they run in, in order."""
    return [list(group) for _, group in groupby(phases, key=lambda p: p.fit)]


def start_fit(module: nn.Module, fit_phases: Sequence[Phase]) -> tuple[list[dict[str, Any]], FreezeSchedule | None]:
    """Set which backbone blocks of ``module`` train in one fit: one phase at once (returned: its record), several
    by a :class:`FreezeSchedule` callback for the trainer (every phase's parameters enter the optimizer)."""
    if len(fit_phases) == 1:
        phase = fit_phases[0]
        set_trainable(module.backbone, phase.trainable_blocks, phase.blocks)
        record = phase_record(phase, module)
        print_trainable(module, f"fine-tuning, phase '{phase.name}'")
        return [record], None
    set_trainable(module.backbone, None)
    return [], FreezeSchedule(list(fit_phases))
