"""The approaches ``approach=`` chooses, one file each (``_target_`` in conf/approach/NAME.yaml).

Each is an :class:`Approach` whose ``run(cfg, dm)`` builds, trains and evaluates its networks on the data module
``dm`` and returns an :class:`ApproachResult` (metrics with the same per-task keys for every approach).
"""

from mtlkit.approaches.base import Approach, ApproachResult
from mtlkit.approaches.fit import FitResult, best_checkpoint, fit_and_evaluate
from mtlkit.approaches.multitask import Multitask
from mtlkit.approaches.separate import Separate
from mtlkit.approaches.transfer import Transfer

__all__ = [
    "Approach",
    "ApproachResult",
    "FitResult",
    "Multitask",
    "Separate",
    "Transfer",
    "best_checkpoint",
    "fit_and_evaluate",
]
