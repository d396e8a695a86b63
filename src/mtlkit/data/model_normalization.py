"""``data.normalize=model``: normalise the inputs with the statistics the pretrained model was trained with.

Before any data is built, the model family's ``pretrained_input`` (e.g. timm's ``pretrained_cfg``: mean, std,
input size) fills ``data.mean``/``data.std`` where they are null (values given explicitly win), and the choice is
printed with the input size the weights were trained at. The filled values stay in the run's config, so
checkpoints, ``mtlkit-predict`` and ``resume=`` use exactly these numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf, open_dict

from mtlkit.console import get_console
from mtlkit.errors import ConfigError


def model_input(model_cfg: DictConfig | Mapping[str, Any]) -> Mapping[str, Any] | None:
    """What the configured model's pretrained weights expect (``mean``, ``std``, ``input_size``), or None."""
    settings = OmegaConf.to_container(model_cfg, resolve=True) if isinstance(model_cfg, DictConfig) else dict(model_cfg)
    target = settings.pop("_target_", None)
    cls = get_class(str(target)) if target else None
    hook = getattr(cls, "pretrained_input", None)
    return hook(**settings) if hook is not None else None


def resolve_model_normalization(cfg: DictConfig) -> None:
    """Fill ``data.mean``/``std`` (and ``source.*``) from the model where ``normalize=model`` asks for it."""
    for key in ("data", "source"):
        data = cfg.get(key)
        if data is None or data.get("normalize") in (None, "data"):
            continue
        if data.get("normalize") != "model":
            raise ConfigError(f"{key}.normalize={data.normalize}: choose data (the images' mean/std) or model")
        if data.get("mean") is not None and data.get("std") is not None:
            continue  # given, or filled when this config was first run
        stats = model_input(cfg.model)
        if stats is None:
            name = str(cfg.model.get("_target_") or "?").rsplit(".", 1)[-1]
            raise ConfigError(
                f"{key}.normalize=model needs a model with pretrained statistics (model=timm); {name} has none: "
                f"use {key}.normalize=data"
            )
        with open_dict(data):
            data.mean = list(stats["mean"]) if data.get("mean") is None else data.mean
            data.std = list(stats["std"]) if data.get("std") is None else data.std
        size = "x".join(str(s) for s in stats.get("input_size") or [])
        model = cfg.model.get("name", "the model")
        get_console().print(
            f"{key}.normalize=model: mean {list(data.mean)} std {list(data.std)}, as {model}'s pretrained "
            f"weights expect (trained at {size}; grey images take the mean of the RGB values)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
