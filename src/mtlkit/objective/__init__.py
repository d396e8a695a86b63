"""The training objective: the masked per-task loss, its exact sharding under DDP, and the weighting seam.

A training step computes the per-task loss terms of this process's share of the batch
(:class:`MaskedTaskLoss`), turns them into the per-task losses of the global batch (:class:`TaskLosses`, one
all-reduce) and hands them to ONE place, the weighting chosen by ``weighting=`` (:mod:`.weighting`), which
returns what is backpropagated. docs/loss.md states the contract.
"""

from mtlkit.objective.masked_bce import masked_bce, masked_bce_per_task, masked_bce_terms, masked_bce_terms_per_task
from mtlkit.objective.masked_task_loss import MaskedTaskLoss
from mtlkit.objective.sharding import all_reduce_sum, world_size
from mtlkit.objective.task_gradients import set_gradients, task_jacobian
from mtlkit.objective.task_losses import ShardLoss, TaskLosses, shard_loss, task_losses
from mtlkit.objective.weighting import EqualWeighting, GradientWeighting, Weighting

__all__ = [
    "EqualWeighting",
    "GradientWeighting",
    "MaskedTaskLoss",
    "ShardLoss",
    "TaskLosses",
    "Weighting",
    "all_reduce_sum",
    "masked_bce",
    "masked_bce_per_task",
    "masked_bce_terms",
    "masked_bce_terms_per_task",
    "set_gradients",
    "shard_loss",
    "task_jacobian",
    "task_losses",
    "world_size",
]
