"""``approach=transfer``: the source and the target must fit one backbone, checked before anything is trained.

A backbone's weights depend on its input's channels (a CNN's first convolution) and, for some backbones, on the
whole input shape (an MLP's first layer). Two input shapes fit one backbone when ``model`` builds weights of the same
shapes for both: :func:`backbone_fits` builds both, on PyTorch's meta device (no memory, no initialisation cost).

The check runs as early as the shapes are known: from the two data configs before any data is built
(:meth:`MultiLabelDataModule.planned_input_shape`), then with the target's real shape once its data are built,
then with the source's once it is built, each time before pre-training. A mismatch is one ConfigError that names
the fix: the config keys that set the channels or size of either side (``data.channels=3`` / ``source.channels=1``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf

from mtlkit.build.backbone_weights import model_option
from mtlkit.build.builders import build_backbone
from mtlkit.data.base import MultiLabelDataModule
from mtlkit.errors import ConfigError

Shape = tuple[int | None, ...]
SOURCE = "the source data"
TARGET = "the target data"


@dataclass
class InputSide:
    """One side of a transfer: what its inputs look like and which config keys change them.

    ``prefix`` is how its keys are written on the command line (``data``, ``source``), or None for a checkpoint,
    whose input cannot be changed; ``keys`` maps ``channels`` / ``size`` to the data config's key.
    """

    what: str  # e.g. "the target data (data=fashion_grid)"
    shape: Shape | None
    prefix: str | None = None
    keys: Mapping[str, str] = field(default_factory=dict)

    def override(self, kind: str, value: Any) -> str | None:
        """``prefix.key=value`` for ``kind`` (channels or size), if this side has such a key."""
        if self.prefix is None or kind not in self.keys:
            return None
        if isinstance(value, (list, tuple)):
            value = value[0] if len(set(value)) == 1 else f"[{','.join(str(v) for v in value)}]"
        return f"{self.prefix}.{self.keys[kind]}={value}"


def data_class(data_cfg: Mapping[str, Any] | DictConfig) -> type[MultiLabelDataModule] | None:
    """The data module class a data config builds, or None when it cannot be told."""
    try:
        cls = get_class(str(data_cfg.get("_target_")))
    except Exception:  # an unknown target fails with its own message when the data are built
        return None
    return cls if isinstance(cls, type) and issubclass(cls, MultiLabelDataModule) else None


def config_side(
    data_cfg: Mapping[str, Any] | DictConfig, prefix: str, what: str, shape: Sequence[int] | None = None
) -> InputSide:
    """The side of a data config: its real ``shape`` if given (data built), else the shape planned from the config."""
    config = OmegaConf.to_container(data_cfg, resolve=True) if isinstance(data_cfg, DictConfig) else dict(data_cfg)
    cls = data_class(config)
    name = cls.name if cls is not None else str(config.get("_target_"))
    planned = cls.planned_input_shape(config) if cls is not None and shape is None else None
    return InputSide(
        what=f"{what} ({name})",
        shape=tuple(shape) if shape is not None else planned,
        prefix=prefix,
        keys=dict(cls.input_keys) if cls is not None else {},
    )


def _complete(shape: Shape, other: Shape) -> tuple[int, ...]:
    """``shape`` with its unknown entries taken from ``other`` (or 32): what matters is what differs."""
    return tuple(s if s is not None else (o if o is not None else 32) for s, o in zip(shape, other))


def backbone_fits(model_cfg: Mapping[str, Any] | DictConfig, a: Sequence[int], b: Sequence[int]) -> bool:
    """Whether ``model`` built for inputs ``a`` has weights of the same names and shapes as built for ``b``."""

    def shapes(shape: Sequence[int]) -> dict[str, tuple[int, ...]]:
        try:
            with torch.device("meta"):
                net = build_backbone(model_cfg, shape)
        except Exception:  # a backbone that cannot be built on the meta device: build it for real
            net = build_backbone(model_cfg, shape)
        return {k: tuple(v.shape) for k, v in net.state_dict().items()}

    return shapes(a) == shapes(b)


def _fmt(shape: Shape) -> str:
    return "[" + ", ".join("?" if s is None else str(s) for s in shape) + "]"


def check_inputs(model_cfg: Mapping[str, Any] | DictConfig, source: InputSide, target: InputSide) -> None:
    """Raise a one-line ConfigError naming the fix when ``source`` and ``target`` do not fit one ``model`` backbone.

    Sides whose shape is not known yet pass; so do shapes that differ only where the backbone does not care (image
    size for a CNN).
    """
    s, t = source.shape, target.shape
    if s is None or t is None or tuple(s) == tuple(t):
        return
    head = f"approach=transfer: {source.what} has inputs {_fmt(s)}, {target.what} {_fmt(t)}"
    if len(s) != len(t):
        raise ConfigError(
            f"{head}: a backbone cannot take both kinds of input; transfer between data of the same kind "
            "(images to images, tables with the same columns to tables)"
        )
    a, b = _complete(s, t), _complete(t, s)
    if a == b or backbone_fits(model_cfg, a, b):
        return
    if len(s) == 3 and None not in (s[0], t[0]) and s[0] != t[0]:
        fixes = [target.override("channels", s[0]), source.override("channels", t[0])]
        what = f"{s[0]} vs {t[0]} channels"
        fallback = f"a source with {t[0]}-channel images" if source.prefix else f"a checkpoint of {t[0]}-channel inputs"
    else:
        fixes = [target.override("size", list(a[1:])), source.override("size", list(b[1:]))]
        option = model_option(model_cfg.get("_target_"))
        what = f"{f'model={option}' if option else 'the configured backbone'} needs one input size"
        fallback = "inputs of one shape, or a backbone that takes any image size (model=cnn)"
    named = [f for f in fixes if f]
    fix = f"set {' or '.join(named)}" if named else f"use {fallback}"
    raise ConfigError(f"{head} ({what}); the backbone pre-trained on one cannot take the other: {fix}")
