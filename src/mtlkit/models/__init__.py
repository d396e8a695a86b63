"""Networks: backbones (one file per family in :mod:`.backbones`), task heads, and the LightningModules that
train them (one shared backbone, or one backbone per task)."""

from mtlkit.models.backbones import CNN, MLP, Backbone
from mtlkit.models.heads import TaskHeads
from mtlkit.models.module import MultiTaskModule
from mtlkit.models.separate import SeparateBackbones, SeparateModule
from mtlkit.models.trainable import print_trainable, trainable_summary

__all__ = [
    "CNN",
    "MLP",
    "Backbone",
    "MultiTaskModule",
    "SeparateBackbones",
    "SeparateModule",
    "TaskHeads",
    "print_trainable",
    "trainable_summary",
]
