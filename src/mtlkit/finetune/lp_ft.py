"""``finetune=lp_ft``: a linear probe for ``finetune.probe_epochs`` (its own fit, best epoch kept), then full
fine-tuning from that head for the remaining epochs (Kumar et al., ICLR 2022)."""

from __future__ import annotations

from typing import ClassVar

from mtlkit.config_checks.rules import Rule, integer
from mtlkit.finetune.phases import Phase
from mtlkit.finetune.strategy import FinetuneStrategy


class LinearProbeThenFinetune(FinetuneStrategy):
    option_rules: ClassVar[dict[str, Rule]] = {"probe_epochs": integer(0)}

    def phases(self, max_epochs: int | None) -> list[Phase]:
        probe = self.epoch_before_end("probe_epochs", max_epochs, " the rest of the epochs fine-tune everything:")
        rest = None if max_epochs is None else max_epochs - probe
        return [Phase("probe", 0, 0, fit=0, epochs=probe), Phase("finetune", None, 0, fit=1, epochs=rest)]
