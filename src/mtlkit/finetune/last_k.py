"""``finetune=last_k``: one phase, the heads and the last ``finetune.k`` backbone blocks."""

from __future__ import annotations

from typing import ClassVar

from mtlkit.config_checks.rules import Rule, integer
from mtlkit.finetune.phases import Phase
from mtlkit.finetune.strategy import FinetuneStrategy


class LastK(FinetuneStrategy):
    option_rules: ClassVar[dict[str, Rule]] = {"k": integer(0, note="backbone blocks that train")}

    def phases(self, max_epochs: int | None) -> list[Phase]:
        return [Phase("finetune", int(self.settings.get("k", 1)))]
