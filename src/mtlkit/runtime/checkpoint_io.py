"""The Lightning ``CheckpointIO`` plugin that :func:`mtlkit.build.build_trainer` gives every Trainer: checkpoints
written whole or not at all (:func:`mtlkit.runtime.atomic_write.atomic_write`). Lightning's own ``TorchCheckpointIO``
writes through a temporary file in the system temp folder, whose final move is a copy across file systems, and a
full disk left a truncated checkpoint and a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO

from mtlkit.runtime.atomic_write import atomic_write


class AtomicCheckpointIO(TorchCheckpointIO):
    """``torch.save`` checkpoints through :func:`atomic_write` (local paths; remote URLs are left to Lightning)."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        if "://" in str(path):
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda f: torch.save(checkpoint, f))
