"""``finetune=last_k``: one phase, the heads and the last ``finetune.k`` backbone blocks."""

from __future__ import annotations

from mtlkit.errors import ConfigError
from mtlkit.finetune.phases import Phase
from mtlkit.finetune.strategy import FinetuneStrategy


class LastK(FinetuneStrategy):
    def phases(self, max_epochs: int | None) -> list[Phase]:
        k = self.settings.get("k")
        if not isinstance(k, int) or k < 0:
            raise ConfigError(f"finetune.k must be an integer >= 0 (backbone blocks that train), got {k!r}")
        return [Phase("finetune", k)]
