"""Loss weightings and gradient methods (``weighting=NAME``): one file per method, one config in conf/weighting/."""

from mtlkit.objective.weighting.base import GradientWeighting, Weighting
from mtlkit.objective.weighting.ew import EqualWeighting

__all__ = ["EqualWeighting", "GradientWeighting", "Weighting"]
