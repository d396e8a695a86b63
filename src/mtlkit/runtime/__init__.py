"""What keeps runs alive and readable: launch checks, resume, the last-checkpoint callback, checkpoint files.

The public names below are imported from their modules on first use (PEP 562), so that importing one light module
of this package (``run_folder``, ``preflight``) does not import Lightning: ``mtlkit-train --help`` and a refused
command stay fast (docs/benchmarks.md, "Start-up").
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mtlkit.runtime.checkpoints import load_checkpoint, resolve_checkpoint
    from mtlkit.runtime.last_checkpoint import LAST_CHECKPOINT, LastCheckpoint
    from mtlkit.runtime.launch import check_distributed_launch, prepare_launch
    from mtlkit.runtime.loggers import finish_loggers
    from mtlkit.runtime.resume import check_same_config, expand_resume_argument, resolve_ckpt_path

_DEFINED_IN = {
    "LAST_CHECKPOINT": "last_checkpoint",
    "LastCheckpoint": "last_checkpoint",
    "check_distributed_launch": "launch",
    "check_same_config": "resume",
    "expand_resume_argument": "resume",
    "finish_loggers": "loggers",
    "load_checkpoint": "checkpoints",
    "prepare_launch": "launch",
    "resolve_checkpoint": "checkpoints",
    "resolve_ckpt_path": "resume",
}
__all__ = [
    "LAST_CHECKPOINT",
    "LastCheckpoint",
    "check_distributed_launch",
    "check_same_config",
    "expand_resume_argument",
    "finish_loggers",
    "load_checkpoint",
    "prepare_launch",
    "resolve_checkpoint",
    "resolve_ckpt_path",
]


def __getattr__(name: str) -> object:
    """A public name, imported from its module on first use."""
    if name in _DEFINED_IN:
        return getattr(importlib.import_module(f"{__name__}.{_DEFINED_IN[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
