"""``model=mlp``: an MLP for tabular (or flattened) inputs."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from mtlkit.errors import ConfigError
from mtlkit.models.backbones.base import Backbone


class MLP(Backbone):
    """``depth`` blocks of Linear-LayerNorm-ReLU(-Dropout) of ``width`` units; inputs are flattened, then (with
    ``input_dropout`` > 0) each input is dropped with that probability during training, as for fingerprint bits."""

    def __init__(
        self,
        input_shape: Sequence[int],
        width: int = 256,
        depth: int = 2,
        dropout: float = 0.0,
        input_dropout: float = 0.0,
    ):
        super().__init__()
        if width < 1 or depth < 1:
            raise ConfigError(f"model.width and model.depth must be >= 1, got width={width}, depth={depth}")
        for key, p in (("dropout", dropout), ("input_dropout", input_dropout)):
            if not 0 <= p < 1:
                raise ConfigError(f"model.{key} must be in [0, 1), got {p}: e.g. model.{key}=0.2")
        n_in = 1
        for d in input_shape:
            n_in *= int(d)
        blocks: list[nn.Module] = []
        for i in range(depth):
            layers: list[nn.Module] = [nn.Linear(n_in if i == 0 else width, width), nn.LayerNorm(width), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            blocks.append(nn.Sequential(*layers))
        # the input side lives in the first block; no layer is added without input dropout (same parameter names)
        stem: list[nn.Module] = [nn.Flatten()] + ([nn.Dropout(input_dropout)] if input_dropout > 0 else [])
        blocks[0] = nn.Sequential(*stem, *blocks[0])
        self.blocks = nn.ModuleList(blocks)
        self.pool = nn.Identity()
        self.feature_dim = width
