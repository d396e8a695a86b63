"""``model=cnn``: a plain conv net for images."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from mtlkit.errors import ConfigError
from mtlkit.models.backbones.base import Backbone


class CNN(Backbone):
    """A plain conv net: ``depth`` blocks of conv3x3-BN-ReLU (+ 2x2 max-pool while the map is >= 8 px).

    Channels start at ``width`` and double every two blocks (capped at ``8 * width``), so
    ``width=32, depth=4`` gives 32/32/64/64 channels; the feature vector is the global average of the last map.
    """

    def __init__(self, input_shape: Sequence[int], width: int = 32, depth: int = 4):
        super().__init__()
        if len(input_shape) != 3:
            raise ConfigError(
                f"model=cnn needs image inputs [C, H, W], got input shape {tuple(input_shape)}; "
                "use model=mlp for tabular data"
            )
        if width < 1 or depth < 1:
            raise ConfigError(f"model.width and model.depth must be >= 1, got width={width}, depth={depth}")
        channels, size, _ = input_shape
        blocks = []
        for i in range(depth):
            out = width * min(2 ** (i // 2), 8)
            layers: list[nn.Module] = [
                nn.Conv2d(channels, out, 3, padding=1, bias=False),
                nn.BatchNorm2d(out),
                nn.ReLU(inplace=True),
            ]
            if size >= 8:
                layers.append(nn.MaxPool2d(2))
                size //= 2
            blocks.append(nn.Sequential(*layers))
            channels = out
        self.blocks = nn.ModuleList(blocks)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.feature_dim = channels
