"""Backbones, one file per family: input -> feature vector, with ``feature_dim`` and ordered ``blocks``."""

from mtlkit.models.backbones.base import Backbone
from mtlkit.models.backbones.cnn import CNN
from mtlkit.models.backbones.mlp import MLP

__all__ = ["CNN", "MLP", "Backbone"]
