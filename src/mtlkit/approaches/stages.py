"""A run in several stages (pre-train, probe, fine-tune): each stage gets its own sub-folder and trainer settings."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict


def stage_config(
    cfg: DictConfig,
    name: str,
    trainer: Mapping[str, Any] | DictConfig | None = None,
    data: Mapping[str, Any] | DictConfig | None = None,
) -> DictConfig:
    """A copy of ``cfg`` whose outputs (checkpoints, logs) go to ``<run dir>/<name>``.

    ``trainer`` entries override ``cfg.trainer`` for this stage; ``data`` replaces ``cfg.data`` (resolved in
    ``cfg`` first, so interpolations such as ``${data.image_size}`` keep their meaning).
    """
    output_dir = Path(str(cfg.paths.output_dir)) / name
    if isinstance(data, DictConfig):
        data = OmegaConf.to_container(data, resolve=True)
    if isinstance(trainer, DictConfig):
        trainer = OmegaConf.to_container(trainer, resolve=True)
    stage = copy.deepcopy(cfg)
    with open_dict(stage):
        stage.paths.output_dir = str(output_dir)
        if data is not None:
            stage.data = OmegaConf.create(dict(data))
        for key, value in (trainer or {}).items():
            stage.trainer[key] = value
    return stage
