"""Where ``approach=transfer``'s backbone comes from: the :class:`TransferSource` protocol.

``transfer.source=NAME`` picks a class by name from ``approach.sources`` (conf/approach/transfer.yaml: ``data``
pre-trains on ``source`` here, ``checkpoint`` takes another run's backbone, ``pretrained`` the model's own
weights), or names a class itself (``transfer.source=my_package.module.MySource``). ``transfer.source=data`` with a
``transfer.checkpoint`` takes that checkpoint's backbone, as it always has. Each source checks its own
``transfer.*`` keys in :meth:`TransferSource.preflight`, before any folder is touched, and hands over its
backbone's weights in :meth:`TransferSource.backbone`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from hydra.utils import get_class
from omegaconf import DictConfig

from mtlkit.approaches.transfer_inputs import InputSide
from mtlkit.errors import ConfigError


@dataclass
class SourceBackbone:
    """A source's backbone: its weights (None: the model loads its own, ``model.pretrained``), where they come
    from, the checkpoint's ``mtlkit`` entry (model config and input shape, for the messages of a mismatch) and what
    results.json records under ``transfer``."""

    state: dict[str, torch.Tensor] | None
    file: str
    meta: Mapping[str, Any] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)  # results.json's transfer.source
    stage: str | None = None  # the stage of a transfer run's folder taken (transfer.stage)
    task: str | None = None  # whose network, for a checkpoint of several (transfer.task)


class TransferSource:
    """Base class of a backbone's origin; subclasses implement :meth:`backbone`."""

    @classmethod
    def preflight(cls, cfg: DictConfig) -> None:
        """Refuse, in one line, ``transfer.*`` settings this source cannot use; runs before any folder is touched."""

    def backbone(self, cfg: DictConfig, target: InputSide) -> SourceBackbone:
        """The backbone's weights, checked to fit ``target`` (the target data's inputs) before anything trains."""
        raise NotImplementedError


def source_name(cfg: DictConfig) -> str:
    """``transfer.source``, with ``data`` read as ``checkpoint`` when ``transfer.checkpoint`` is given."""
    name = str(cfg.transfer.get("source") or "data")
    return "checkpoint" if name == "data" and cfg.transfer.get("checkpoint") is not None else name


def source_class(cfg: DictConfig) -> type[TransferSource]:
    """The :class:`TransferSource` class ``transfer.source`` names (a name of ``approach.sources``, or a class)."""
    sources = dict(cfg.approach.get("sources") or {})
    name = source_name(cfg)
    target = sources.get(name, name)
    try:
        cls = get_class(str(target))
    except Exception:  # not a name, and no class of that path
        cls = None
    if not (isinstance(cls, type) and issubclass(cls, TransferSource)):
        named = " or ".join(k for k in sources if k != "checkpoint")
        raise ConfigError(
            f"transfer.source={cfg.transfer.get('source')}: choose {named} "
            "(with transfer.checkpoint=PATH: that checkpoint), or give the class path of a "
            "mtlkit.approaches.transfer_source.TransferSource"
        )
    return cls
