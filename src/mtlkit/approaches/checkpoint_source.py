"""``transfer.checkpoint=PATH``: the backbone of another mtlkit run (a .ckpt file, a run folder, or a transfer run's
folder, whose ``transfer.stage`` picks its pre-trained backbone, the default, or its fine-tuned one). The module
class that wrote the checkpoint says which weights are the backbone (``transfer.task`` for one network of several).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from mtlkit.approaches.transfer_inputs import InputSide, check_inputs
from mtlkit.approaches.transfer_source import SourceBackbone, TransferSource
from mtlkit.build.from_checkpoint import MODULE_CLASSES
from mtlkit.console import get_console
from mtlkit.errors import CheckpointError, ConfigError
from mtlkit.runtime.checkpoints import checkpoint_file_error, load_checkpoint, resolve_checkpoint

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


def checkpoint_summary(meta: dict[str, Any]) -> dict[str, Any]:
    """What results.json records about a checkpoint given with ``transfer.checkpoint``."""
    config = meta.get("config") or {}
    return {
        "approach": meta.get("approach") or (config.get("approach") or {}).get("name"),
        "stage": meta.get("stage"),
        "tasks": meta.get("tasks"),
        "input_shape": meta.get("input_shape"),
        "data_config": config.get("data"),
        "model_config": config.get("model"),
    }


def describe_source(file: Path, stage: str | None) -> str:
    """How the backbone's file was chosen, for the console."""
    if stage is None:
        return str(file)
    other = "finetune" if stage == "pretrain" else "pretrain"
    return f"its {stage} backbone, {file} (transfer.stage={other}: its {other} one)"


class CheckpointSource(TransferSource):
    """The backbone of the checkpoint ``transfer.checkpoint`` names."""

    @classmethod
    def preflight(cls, cfg: DictConfig) -> None:
        """An empty path, a bad ``transfer.stage``, or a file that is not a PyTorch checkpoint: one line each."""
        path = cfg.transfer.get("checkpoint")
        resolve_transfer_source(path, cfg.transfer.get("stage"))
        error = checkpoint_file_error("transfer.checkpoint", str(path))
        if error:
            raise ConfigError(error)

    def backbone(self, cfg: DictConfig, target: InputSide) -> SourceBackbone:
        chosen, stage = resolve_transfer_source(cfg.transfer.get("checkpoint"), cfg.transfer.get("stage"))
        ckpt, file = load_checkpoint(chosen)
        meta = ckpt["mtlkit"]
        shape = meta.get("input_shape")
        check_inputs(cfg.model, InputSide("the checkpoint's backbone", tuple(shape) if shape else None), target)
        if stage is not None:
            get_console().print(
                f"transfer: {cfg.transfer.checkpoint} is a transfer run: {describe_source(file, stage)}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
        architecture = meta.get("architecture", "shared")
        if architecture not in MODULE_CLASSES:
            raise CheckpointError(
                f"{file} holds an unknown architecture {architecture!r}; known: {sorted(MODULE_CLASSES)}"
            )
        task = cfg.transfer.get("task")
        state, origin = MODULE_CLASSES[architecture].transferable_backbone(ckpt["state_dict"], meta, task, file)
        record = {"pretrained_here": False, **checkpoint_summary(meta)}
        return SourceBackbone(state, str(file), meta, record, stage=stage, task=origin.get("task"))
