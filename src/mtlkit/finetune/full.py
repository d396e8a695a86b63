"""``finetune=full``: one phase, everything trains (``backbone_lr_scale`` scales the backbone's learning rate)."""

from __future__ import annotations

from mtlkit.finetune.phases import Phase
from mtlkit.finetune.strategy import FinetuneStrategy


class Full(FinetuneStrategy):
    def phases(self, max_epochs: int | None) -> list[Phase]:
        return [Phase("finetune", None)]
