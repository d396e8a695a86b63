"""Which backbone blocks train: the last ``k`` or the ones named, every other parameter frozen and in eval mode
(BatchNorm statistics and dropout as pre-trained), so that it stays bit-identical however long the rest trains.
The fine-tuning strategies (:mod:`mtlkit.finetune`) decide which; this is how."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from mtlkit.errors import ConfigError
from mtlkit.models.backbones.base import ordered_blocks


def backbone_blocks(backbone: nn.Module) -> list[nn.Module]:
    """The backbone's ordered blocks (input to output), or a ConfigError if it has none."""
    blocks = ordered_blocks(backbone)
    if not blocks:
        raise ConfigError(
            f"{type(backbone).__name__} exposes no ordered blocks; freezing part of a backbone needs them "
            "(see mtlkit.models.backbones.Backbone), or use finetune=full"
        )
    return blocks


def chosen_blocks(n_blocks: int, trainable_blocks: int | None, blocks: Sequence[int] | None = None) -> list[int]:
    """Indices of the blocks that train: ``blocks`` as given, else the last ``trainable_blocks`` (None: all)."""
    if blocks is not None:
        bad = sorted({int(b) for b in blocks if not 0 <= int(b) < n_blocks})
        if bad:
            raise ConfigError(
                f"finetune.blocks names block(s) {bad} but the backbone has {n_blocks} blocks, numbered 0 (input "
                f"side) to {n_blocks - 1} (output side); choose among those"
            )
        return sorted({int(b) for b in blocks})
    if trainable_blocks is None:
        return list(range(n_blocks))
    k = int(trainable_blocks)
    if not 0 <= k <= n_blocks:
        raise ConfigError(f"finetune.k={k} but the backbone has {n_blocks} blocks; choose 0 to {n_blocks}")
    return list(range(n_blocks - k, n_blocks))


def set_trainable(backbone: nn.Module, trainable_blocks: int | None, blocks: Sequence[int] | None = None) -> None:
    """Let the last ``trainable_blocks`` blocks of ``backbone`` train (None: all), or the ``blocks`` named; freeze
    the rest, in eval mode (BatchNorm statistics and dropout as pre-trained).

    Parameters outside every block count as the input side: frozen unless the whole backbone trains.
    """
    if trainable_blocks is None and blocks is None:
        backbone.requires_grad_(True)
        backbone.train()
        return
    ordered = backbone_blocks(backbone)
    trainable = [ordered[i] for i in chosen_blocks(len(ordered), trainable_blocks, blocks)]
    backbone.requires_grad_(False)
    backbone.eval()
    for module in trainable:
        module.requires_grad_(True)
        module.train()
