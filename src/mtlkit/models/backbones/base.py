"""The backbone contract: input -> feature vector, with ``feature_dim`` and ordered blocks.

``block_list()`` gives the blocks in order from input to output, so "train the last k blocks" (and
``finetune=blocks``, ``finetune.lr_decay``) means the same for every backbone. A plain backbone runs ``blocks`` (an
``nn.ModuleList``) in turn and ``pool`` (no parameters) turns the last block's output into the feature vector;
a wrapped one (``model=timm``) keeps its library's forward and says which of its modules make each block.
Parameters outside every block count as the input side (the stem). A backbone family is one file in this folder
plus one config in conf/model/ (CONTRIBUTING.md); it is built with the keyword ``input_shape`` (the data's
``[C, H, W]`` or ``[F]``) plus the options of its config.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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

    def block_list(self) -> list[nn.Module]:
        """The blocks, input to output; the last one includes the modules after it (``pool``)."""
        blocks = list(self.blocks)
        pool = getattr(self, "pool", None)
        if blocks and isinstance(pool, nn.Module):
            blocks[-1] = nn.ModuleList([blocks[-1], pool])
        return blocks

    @classmethod
    def pretrained_input(cls, **model_cfg: Any) -> Mapping[str, Any] | None:
        """The input a pretrained model expects (``mean``, ``std``, ``input_size``), or None: no such weights."""
        return None


def ordered_blocks(backbone: nn.Module) -> list[nn.Module] | None:
    """The backbone's blocks, input to output (``block_list()``, or an ``nn.ModuleList`` ``blocks``); None if
    it has none."""
    if hasattr(backbone, "block_list"):
        return list(backbone.block_list())
    blocks = getattr(backbone, "blocks", None)
    return list(blocks) if isinstance(blocks, nn.ModuleList) and len(blocks) else None
