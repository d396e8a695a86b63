"""Fine-tuning for ``approach=transfer``: strategies (one file each, one config in conf/finetune/) and phases."""

from mtlkit.finetune.phases import FreezeSchedule, Phase, backbone_blocks, phase_record, set_trainable
from mtlkit.finetune.strategy import FinetuneStrategy, available_strategies, load_strategy, plan

__all__ = [
    "FinetuneStrategy",
    "FreezeSchedule",
    "Phase",
    "available_strategies",
    "backbone_blocks",
    "load_strategy",
    "phase_record",
    "plan",
    "set_trainable",
]
