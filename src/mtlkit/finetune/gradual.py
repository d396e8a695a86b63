"""``finetune=gradual``: the heads alone until ``finetune.unfreeze_epoch``, then everything, in one fit."""

from __future__ import annotations

from typing import ClassVar

from mtlkit.config_checks.rules import Rule, integer
from mtlkit.errors import ConfigError
from mtlkit.finetune.phases import Phase
from mtlkit.finetune.strategy import FinetuneStrategy


class Gradual(FinetuneStrategy):
    option_rules: ClassVar[dict[str, Rule]] = {"unfreeze_epoch": integer(0)}

    def phases(self, max_epochs: int | None) -> list[Phase]:
        epoch = self.epoch_before_end("unfreeze_epoch", max_epochs)
        return [Phase("head", 0, 0), Phase("backbone", None, epoch)]

    def check_launch(self, multi_process: bool) -> None:
        if multi_process:
            raise ConfigError(
                "finetune=gradual unfreezes the backbone in the middle of one fit, and DDP only synchronises the "
                "parameters that were trainable when it started, so the processes would drift apart: under DDP use "
                "finetune=lp_ft (probe, then a second fit of everything), full, or last_k"
            )
