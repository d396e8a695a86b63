"""The backbone contract: input -> feature vector, with ``feature_dim`` and ordered ``blocks``.

``blocks`` run in order from input to output, so "train the last k blocks" means the same for every
backbone; ``pool`` (no parameters) turns the last block's output into the feature vector. A backbone family is
one file in this folder plus one config in conf/model/ (CONTRIBUTING.md); it is built with the keyword
``input_shape`` (the data's ``[C, H, W]`` or ``[F]``) plus the options of its config.
"""

from __future__ import annotations

import torch
from torch import nn


class Backbone(nn.Module):
    """Base class: ``forward(x) = pool(blocks[-1](...blocks[0](x)))``."""

    feature_dim: int
    blocks: nn.ModuleList
    pool: nn.Module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return self.pool(x)
