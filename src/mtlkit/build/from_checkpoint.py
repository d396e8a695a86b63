"""Rebuild the whole model a checkpoint holds from the config it stores, through the same builder as training."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf

from mtlkit.build.builders import build_module, build_weighting
from mtlkit.console import get_console
from mtlkit.errors import CheckpointError, ConfigError
from mtlkit.models.classical.module import EstimatorsModule
from mtlkit.models.classical.store import load_model, model_file
from mtlkit.models.grouped import GroupedModule
from mtlkit.models.module import MultiTaskModule
from mtlkit.models.separate import SeparateModule
from mtlkit.objective.weighting.ew import EqualWeighting

MODULE_CLASSES: dict[str, type[MultiTaskModule]] = {
    cls.architecture: cls for cls in (MultiTaskModule, SeparateModule, GroupedModule)
}


def module_from_checkpoint(ckpt: Mapping[str, Any], file: Path | str = "checkpoint") -> MultiTaskModule:
    """The whole model a checkpoint holds (backbone(s), heads, weighting state), weights loaded, in eval mode."""
    meta = ckpt["mtlkit"]
    config = meta.get("config") or {}
    if not config.get("model") or not meta.get("input_shape") or not meta.get("tasks"):
        raise CheckpointError(f"{file} lacks the model config, input shape or tasks needed to rebuild its model")
    architecture = meta.get("architecture", "shared")
    if architecture not in MODULE_CLASSES:
        raise CheckpointError(f"{file} holds an unknown architecture {architecture!r}; known: {sorted(MODULE_CLASSES)}")
    cfg = OmegaConf.create(config)
    if cfg.model.get("pretrained") is not None:  # the checkpoint holds the weights: the file is not needed again
        cfg.model.pretrained = None
    state = dict(ckpt["state_dict"])
    try:
        weighting = build_weighting(cfg, meta["tasks"], meta.get("groups"))
    except ConfigError as err:  # e.g. a method whose package is not installed here: predictions do not need it
        get_console().print(f"[yellow]note: the run's weighting is not rebuilt ({err}); predictions do not use it")
        weighting = EqualWeighting(meta["tasks"])
        state = {k: v for k, v in state.items() if not k.startswith("weighting.")}
    module = build_module(
        cfg,
        meta["input_shape"],
        meta["tasks"],
        MODULE_CLASSES[architecture],
        head_layers=int(meta.get("head_layers", 1)),
        head_hidden=meta.get("head_hidden"),
        weighting=weighting,
        **({"groups": meta["groups"]} if architecture == GroupedModule.architecture else {}),
        meta={k: v for k, v in meta.items() if k not in ("config", "input_shape", "approach")},
    )
    module.meta = dict(meta)
    missing, unexpected = module.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise CheckpointError(
            f"{file} does not match the model its own config describes: missing {missing[:6]}, "
            f"unexpected {unexpected[:6]}; was it written by another mtlkit version?"
        )
    return module.eval()


def model_from_run(path: Path | str) -> tuple[dict[str, Any], Path, torch.nn.Module]:
    """The checkpoint-like dict, its file and the model of ``path`` (a .ckpt, a run folder, or an
    ``approach=classical`` run's ``classical.joblib``): what ``mtlkit-predict`` scores with."""
    from mtlkit.runtime.checkpoints import load_checkpoint

    classical = model_file(path)
    if classical is not None:
        content = load_model(classical)
        return content, classical, EstimatorsModule(content["mtlkit"]["tasks"], content["estimators"]).eval()
    ckpt, file = load_checkpoint(path)
    return ckpt, file, module_from_checkpoint(ckpt, file)
