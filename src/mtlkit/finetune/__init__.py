"""Fine-tuning for ``approach=transfer``: strategies (one file each, one config in conf/finetune/) and phases.
Freezing itself (which blocks train) is the model's: :mod:`mtlkit.models.freezing`."""

from mtlkit.finetune.phases import FreezeSchedule, Phase, start_fit
from mtlkit.finetune.strategy import FinetuneStrategy, available_strategies, load_strategy, plan

__all__ = [
    "FinetuneStrategy",
    "FreezeSchedule",
    "Phase",
    "available_strategies",
    "load_strategy",
    "plan",
    "start_fit",
]
