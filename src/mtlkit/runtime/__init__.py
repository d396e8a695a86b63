"""What keeps runs alive and readable: launch checks, resume, the last-checkpoint callback, checkpoint reading."""

from mtlkit.runtime.checkpoints import backbone_state, load_backbone, load_checkpoint, resolve_checkpoint
from mtlkit.runtime.last_checkpoint import LAST_CHECKPOINT, LastCheckpoint
from mtlkit.runtime.launch import check_distributed_launch, prepare_launch
from mtlkit.runtime.loggers import finish_loggers
from mtlkit.runtime.resume import check_same_config, expand_resume_argument, resolve_ckpt_path

__all__ = [
    "LAST_CHECKPOINT",
    "LastCheckpoint",
    "backbone_state",
    "check_distributed_launch",
    "check_same_config",
    "expand_resume_argument",
    "finish_loggers",
    "load_backbone",
    "load_checkpoint",
    "prepare_launch",
    "resolve_checkpoint",
    "resolve_ckpt_path",
]
