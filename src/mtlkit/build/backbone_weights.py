"""Copy a checkpoint's backbone weights into a freshly built backbone, or say in one line how the two differ and
which ``model.*`` overrides would make them fit (approach=transfer)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from mtlkit.config import CONFIG_DIR
from mtlkit.errors import CheckpointError


def checkpoint_model_config(meta: Mapping[str, Any]) -> dict[str, Any]:
    return dict((meta.get("config") or {}).get("model") or {})


def model_option(target: str | None) -> str | None:
    """The ``model=`` option whose config has this ``_target_``, if one of conf/model/*.yaml does."""
    for f in sorted((Path(CONFIG_DIR) / "model").glob("*.yaml")):
        try:
            if OmegaConf.load(f).get("_target_") == target:
                return f.stem
        except Exception:  # an unreadable option file only costs the suggestion
            continue
    return None


def suggested_model_overrides(saved: Mapping[str, Any], configured: Mapping[str, Any]) -> list[str]:
    """Command-line overrides that turn the ``configured`` model config into the ``saved`` one."""
    out = []
    if saved.get("_target_") != configured.get("_target_"):
        option = model_option(saved.get("_target_"))
        out.append(f"model={option}" if option else f"model._target_={saved.get('_target_')}")
        configured = {}
    for key, value in saved.items():
        if key != "_target_" and configured.get(key) != value:
            out.append(f"model.{key}={json.dumps(value) if not isinstance(value, str) else value}")
    return out


def load_backbone(
    backbone: nn.Module,
    state: Mapping[str, torch.Tensor],
    meta: Mapping[str, Any],
    configured_model: Mapping[str, Any] | DictConfig | None = None,
    file: Path | str = "checkpoint",
) -> None:
    """Copy ``state`` into ``backbone``; a backbone that does not fit raises a CheckpointError naming the mismatch."""
    own = backbone.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [
        f"{k}: checkpoint {list(state[k].shape)} vs configured {list(v.shape)}"
        for k, v in own.items()
        if k in state and state[k].shape != v.shape
    ]
    if missing or unexpected or shapes:
        if isinstance(configured_model, DictConfig):
            configured_model = OmegaConf.to_container(configured_model, resolve=True)
        saved = checkpoint_model_config(meta)
        parts = []
        if shapes:
            more = f"; and {len(shapes) - 6} more" if len(shapes) > 6 else ""
            parts.append(f"{len(shapes)} shape mismatch(es): " + "; ".join(shapes[:6]) + more)
        if missing:
            parts.append(f"{len(missing)} weight(s) missing from the checkpoint: {missing[:6]}")
        if unexpected:
            parts.append(f"{len(unexpected)} weight(s) the configured backbone lacks: {unexpected[:6]}")
        fix = suggested_model_overrides(saved, configured_model or {}) if saved else []
        hint = f"configure the backbone it was trained with: {' '.join(fix)}" if fix else "configure the same backbone"
        if meta.get("input_shape"):
            hint += f" (its input shape was {list(meta['input_shape'])})"
        raise CheckpointError(
            f"the backbone in {file} does not fit the configured one: {'; '.join(parts)}. "
            f"The checkpoint's model config is {saved or 'unknown'}. Fix: {hint}."
        )
    backbone.load_state_dict(dict(state))
