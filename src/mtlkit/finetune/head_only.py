"""``finetune=head_only``: one phase, the new heads only (a linear probe when ``head_layers=1``)."""

from __future__ import annotations

from mtlkit.finetune.phases import Phase
from mtlkit.finetune.strategy import FinetuneStrategy


class HeadOnly(FinetuneStrategy):
    def phases(self, max_epochs: int | None) -> list[Phase]:
        return [Phase("finetune", 0)]
