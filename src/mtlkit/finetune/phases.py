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

from mtlkit.models.freezing import set_trainable
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
        self.records.append({**asdict(phase), "parameters": trainable_summary(pl_module)})


def fits(phases: Sequence[Phase]) -> list[list[Phase]]:
    """The phases grouped by the fit (``Phase.fit``) they run in, in order."""
    return [list(group) for _, group in groupby(phases, key=lambda p: p.fit)]


def start_fit(module: nn.Module, fit_phases: Sequence[Phase]) -> tuple[list[dict[str, Any]], FreezeSchedule | None]:
    """Set which backbone blocks of ``module`` train in one fit: several phases by a :class:`FreezeSchedule`
    callback for the trainer (every phase's parameters enter the optimizer), one phase at once (returned: its
    record, what results.json keeps of it: its schedule and which parameters train)."""
    if len(fit_phases) > 1:
        schedule = FreezeSchedule(list(fit_phases))
        set_trainable(module.backbone, None)
        return [], schedule
    (phase,) = fit_phases
    set_trainable(module.backbone, phase.trainable_blocks, phase.blocks)
    summary = print_trainable(module, f"fine-tuning, phase '{phase.name}'")
    return [{**asdict(phase), "parameters": summary}], None
