"""Layer-wise learning-rate decay (``finetune.lr_decay``): block i of n learns at ``scale * decay ** (n - i)``.

As timm and BEiT do it: the heads learn at the optimizer's rate, the last backbone block at ``decay`` times it,
each earlier block at the next one's rate times ``decay``, and the input side (parameters outside every block: the
stem, a ViT's position embedding) at the first block's rate times ``decay``. ``scale`` is
``finetune.backbone_lr_scale``; only parameters that train enter a group.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from mtlkit.errors import ConfigError
from mtlkit.models.backbones.base import ordered_blocks


def layer_decay_groups(backbone: nn.Module, decay: float, scale: float = 1.0) -> list[dict[str, Any]]:
    """Parameter groups ``{"name", "params", "lr_scale"}`` of ``backbone``: the input side, then each block."""
    if not 0.0 < decay <= 1.0:
        raise ConfigError(f"finetune.lr_decay={decay} must be in (0, 1] (1: no decay), e.g. 0.7")
    blocks = ordered_blocks(backbone)
    if not blocks:
        raise ConfigError(
            f"finetune.lr_decay needs a backbone with ordered blocks; {type(backbone).__name__} has none "
            "(drop finetune.lr_decay)"
        )
    n = len(blocks)
    seen: set[int] = set()
    groups = []
    for i, block in enumerate(blocks):
        params = [p for p in block.parameters() if p.requires_grad and id(p) not in seen]
        seen.update(id(p) for p in block.parameters())
        groups.append({"name": f"backbone.block{i}", "params": params, "lr_scale": scale * decay ** (n - i)})
    stem = [p for p in backbone.parameters() if p.requires_grad and id(p) not in seen]
    groups.insert(0, {"name": "backbone.stem", "params": stem, "lr_scale": scale * decay ** (n + 1)})
    return [g for g in groups if g["params"]]
