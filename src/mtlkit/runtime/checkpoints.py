"""Read what mtlkit wrote: find a run's checkpoint and take a backbone out of it (the whole model is rebuilt by
:func:`mtlkit.build.module_from_checkpoint`).

Every checkpoint mtlkit writes carries ``checkpoint["mtlkit"]``: the resolved config of the run, the tasks,
the input shape, the feature width, the head shape and the architecture (``shared``: one backbone, keys
``backbone.*``; ``separate``: one backbone per task, keys ``backbone.networks.<j>.*``).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from mtlkit.config import CONFIG_DIR
from mtlkit.errors import CheckpointError, ConfigError
from mtlkit.models.separate import network_state

BACKBONE_PREFIX = "backbone."

# Classes that moved when the package was laid out by axis: checkpoints written before still name the old paths.
MOVED_TARGETS = {
    "mtlkit.data.driving.": "mtlkit.data.sources.driving.",
    "mtlkit.data.noise.": "mtlkit.data.sources.noise.",
    "mtlkit.data.table.": "mtlkit.data.sources.table.",
    "mtlkit.data.images.": "mtlkit.data.sources.images.",
    "mtlkit.data.fashion.": "mtlkit.data.sources.fashion.",
    "mtlkit.models.backbones.CNN": "mtlkit.models.backbones.cnn.CNN",
    "mtlkit.models.backbones.MLP": "mtlkit.models.backbones.mlp.MLP",
    "mtlkit.callbacks.": "mtlkit.runtime.last_checkpoint.",
}
APPROACH_TARGETS = {  # approach configs written before approaches were chosen by _target_
    "multitask": "mtlkit.approaches.multitask.Multitask",
    "separate": "mtlkit.approaches.separate.Separate",
    "transfer": "mtlkit.approaches.transfer.Transfer",
}


def upgrade_config(config: Any) -> Any:
    """A checkpoint's stored config with the class paths of older mtlkit versions replaced by today's."""
    if isinstance(config, Mapping):
        out = {k: upgrade_config(v) for k, v in config.items()}
        target = out.get("_target_")
        if isinstance(target, str):
            for old, new in MOVED_TARGETS.items():
                if target.startswith(old):
                    out["_target_"] = new + target[len(old) :]
                    break
        approach = out.get("approach")
        if isinstance(approach, dict) and "_target_" not in approach and approach.get("name") in APPROACH_TARGETS:
            out["approach"] = {"_target_": APPROACH_TARGETS[approach["name"]], **approach}
        return out
    if isinstance(config, list):
        return [upgrade_config(v) for v in config]
    return config


def resolve_checkpoint(path: str | Path) -> Path:
    """``path`` itself if it is a file; for a run directory, its best checkpoint (from results.json) or last one."""
    path = Path(path).expanduser()
    if path.is_file():
        return path
    if not path.exists():
        raise CheckpointError(
            f"checkpoint {path} does not exist; give a .ckpt file or the run directory of an mtlkit run"
        )
    candidates: list[Path] = []
    results = path / "results.json"
    if results.is_file():
        best = json.loads(results.read_text()).get("best_checkpoint")
        if best:
            candidates.append(Path(best))
    candidates += [path / "checkpoints" / "last.ckpt", path / "finetune" / "checkpoints" / "last.ckpt"]
    for c in candidates:
        if c.is_file():
            return c
    raise CheckpointError(
        f"no checkpoint found in run directory {path} (looked for {[str(c) for c in candidates]}); "
        "give the .ckpt file itself, or a run that kept its checkpoints (callbacks=default)"
    )


TRANSFER_STAGES = ("pretrain", "finetune")


def _results(run: Path) -> dict[str, Any]:
    file = run / "results.json"
    try:
        return json.loads(file.read_text()) if file.is_file() else {}
    except (OSError, ValueError):
        return {}


def is_transfer_run(path: Path) -> bool:
    """Whether ``path`` is the folder of an ``approach=transfer`` run (finished, or with its stage folders)."""
    if not path.is_dir():
        return False
    return _results(path).get("approach") == "transfer" or any((path / s).is_dir() for s in TRANSFER_STAGES)


def transfer_stage_checkpoint(run: Path, stage: str) -> Path:
    """The checkpoint of a transfer run's backbone: ``pretrain`` (the one it fine-tuned from, pre-trained there or
    loaded) or ``finetune`` (its best fine-tuned checkpoint)."""
    results = _results(run)
    if stage == "finetune":
        candidates = [results.get("best_checkpoint"), run / "finetune" / "checkpoints" / "last.ckpt"]
    else:
        source = (results.get("transfer") or {}).get("source") or {}
        candidates = [
            (results.get("transfer") or {}).get("checkpoint"),  # the file its backbone was taken from
            source.get("best_checkpoint"),
            run / "pretrain" / "checkpoints" / "last.ckpt",
        ]
    found = [Path(c) for c in candidates if c and Path(c).is_file()]
    if not found:
        looked = [str(c) for c in candidates if c]
        raise CheckpointError(
            f"{run} is a transfer run without a {stage} checkpoint (looked for {looked}); "
            f"choose the other stage with transfer.stage={'finetune' if stage == 'pretrain' else 'pretrain'}, "
            "or give a .ckpt file"
        )
    return found[0]


def resolve_transfer_source(path: Any, stage: str | None = None) -> tuple[Path, str | None]:
    """The file ``transfer.checkpoint=PATH`` names, and the stage taken when PATH is a transfer run's folder.

    ``stage`` (``transfer.stage``) picks a transfer run's ``pretrain`` backbone (the default: pre-train once,
    fine-tune many times) or its ``finetune`` one; it means nothing for a file or another run's folder.
    """
    if path is None or not str(path).strip():
        raise ConfigError(
            "transfer.checkpoint is empty: give a .ckpt file or an mtlkit run folder, or transfer.checkpoint=null "
            "(the default) to pre-train on `source` in this run"
        )
    if stage is not None and stage not in TRANSFER_STAGES:
        raise ConfigError(f"transfer.stage={stage!r}: choose {' or '.join(TRANSFER_STAGES)} (or null: pretrain)")
    folder = Path(str(path)).expanduser()
    if is_transfer_run(folder):
        stage = stage or "pretrain"
        return transfer_stage_checkpoint(folder, stage), stage
    if stage is not None:
        raise ConfigError(
            f"transfer.stage={stage} chooses a backbone of a transfer run's folder; {folder} is not one "
            "(a file, or another approach's run): drop transfer.stage"
        )
    return resolve_checkpoint(folder), None


ZIP_HEADER = b"PK\x03\x04"  # torch.save's format is a zip archive, whose directory is written last


def truncated_checkpoint(path: str | Path) -> str | None:
    """What is wrong with ``path`` when it starts like a checkpoint (a zip archive) but its end is missing, or None."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            starts_like_zip = f.read(len(ZIP_HEADER)) == ZIP_HEADER
    except OSError:
        return None
    if not starts_like_zip or zipfile.is_zipfile(path):
        return None
    return (
        f"{path} is cut short: it starts like a PyTorch checkpoint but its end (the zip directory) is missing, so it "
        "is truncated or still being written; re-copy it, or use an earlier checkpoint"
    )


def load_checkpoint(path: str | Path) -> tuple[dict[str, Any], Path]:
    """The checkpoint dict and its file; fails unless mtlkit wrote it."""
    file = resolve_checkpoint(path)
    try:
        ckpt = torch.load(file, map_location="cpu", weights_only=False)
    except Exception as err:  # any unreadable file gets the same clear message
        raise CheckpointError(truncated_checkpoint(file) or f"cannot read checkpoint {file}: {err}") from err
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise CheckpointError(f"{file} is not a Lightning checkpoint (no 'state_dict'); give a .ckpt that mtlkit wrote")
    if "mtlkit" not in ckpt:
        raise CheckpointError(
            f"{file} was not written by mtlkit (no 'mtlkit' entry with the config, tasks and input shape); "
            "give a checkpoint of an mtlkit-train run"
        )
    if isinstance(ckpt["mtlkit"].get("config"), Mapping):
        ckpt["mtlkit"]["config"] = upgrade_config(ckpt["mtlkit"]["config"])
    return ckpt, file


def checkpoint_model_config(meta: Mapping[str, Any]) -> dict[str, Any]:
    return dict((meta.get("config") or {}).get("model") or {})


def backbone_state(
    ckpt: Mapping[str, Any], task: str | None = None, file: Path | str = "checkpoint"
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The state dict of the backbone in ``ckpt`` (keys relative to the backbone) and where it came from.

    For a checkpoint of ``approach=separate``, ``task`` names whose network to take.
    """
    meta = ckpt["mtlkit"]
    tasks = list(meta.get("tasks") or [])
    state = ckpt["state_dict"]
    info: dict[str, Any] = {"checkpoint": str(file), "architecture": meta.get("architecture", "shared"), "tasks": tasks}
    if info["architecture"] == "separate":
        if task is None:
            raise CheckpointError(
                f"{file} holds {len(tasks)} separate networks, one per task {tasks}; "
                f"choose whose backbone to transfer with transfer.task=<one of {tasks}>"
            )
        if task not in tasks:
            raise CheckpointError(f"transfer.task={task!r} has no network in {file}; choose one of {tasks}")
        info["task"] = task
        return network_state(state, tasks.index(task)), info
    if info["architecture"] == "grouped":  # one network per group: the group of ``task``
        groups = [list(g) for g in meta.get("groups") or []]
        if task is None or task not in tasks:
            raise CheckpointError(
                f"{file} holds {len(groups)} grouped networks {groups}; choose whose network to transfer with "
                f"transfer.task=<one of {tasks}> (the network of that task's group)"
            )
        index = next(g for g, members in enumerate(groups) if task in members)
        info.update(task=task, group=groups[index])
        return network_state(state, index), info
    if task is not None:
        raise ConfigError(
            f"transfer.task={task!r} only applies to checkpoints of approach=separate; {file} has one shared "
            "backbone: drop transfer.task"
        )
    backbone = {k[len(BACKBONE_PREFIX) :]: v for k, v in state.items() if k.startswith(BACKBONE_PREFIX)}
    if not backbone:
        raise CheckpointError(f"{file} has no backbone weights (no key starts with {BACKBONE_PREFIX!r})")
    return backbone, info


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
