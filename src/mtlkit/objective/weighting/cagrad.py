"""``weighting=cagrad``: TorchJD's CAGrad with the rescaling of its authors' code (``rescale``, default 1).

Liu, Liu, Jin, Stone and Liu, "Conflict-Averse Gradient Descent for Multi-task Learning", NeurIPS 2021. Algorithm 1
gives ``d = g0 + sqrt(phi) / ||g_w|| * g_w`` (``g0`` the mean task gradient, ``sqrt(phi) = c ||g0||``), which is what
``torchjd.aggregation.CAGrad`` returns. The authors' code (github.com/Cranial-XIX/CAGrad, ``cagrad(grads, alpha,
rescale=1)``) and LibMTL's ``CAGrad`` (``rescale`` default 1) then divide it by ``1 + c^2`` (``rescale=1``) or by
``1 + c`` (``rescale=2``); ``rescale=0`` keeps torchjd's. Without it the step is 1 + c^2 times theirs (1.16 at
c = 0.4). Used through :class:`~mtlkit.objective.weighting.torchjd_aggregator.TorchJDAggregator` (the config names
this class as its ``aggregator``); importing this module needs torchjd.
"""

from __future__ import annotations

import torch
from torchjd.aggregation import CAGrad
from torchjd.aggregation import Weighting as TorchJDWeighting

from mtlkit.errors import ConfigError

RESCALES = {0: "none", 1: "1 + c^2", 2: "1 + c"}


def rescale_divisor(c: float, rescale: int) -> float:
    """What the direction is divided by: 1 (``rescale=0``), ``1 + c^2`` (1) or ``1 + c`` (2)."""
    if rescale not in RESCALES:
        raise ConfigError(f"weighting.rescale must be 0 (none), 1 (1 + c^2) or 2 (1 + c), got {rescale!r}")
    return {0: 1.0, 1: 1.0 + c * c, 2: 1.0 + c}[rescale]


class _Divided(TorchJDWeighting):
    """The weights of ``inner`` divided by ``divisor`` (so the direction ``w @ J`` is divided too)."""

    def __init__(self, inner: TorchJDWeighting, divisor: float):
        super().__init__()
        self.inner, self.divisor = inner, divisor

    def forward(self, stat: torch.Tensor, /) -> torch.Tensor:
        return self.inner(stat) / self.divisor


class RescaledCAGrad(CAGrad):
    """``torchjd.aggregation.CAGrad(c, norm_eps)`` whose direction (and weights) are divided as ``rescale`` says."""

    def __init__(self, c: float, norm_eps: float = 0.0001, rescale: int = 1):
        super().__init__(c=c, norm_eps=norm_eps)
        self.rescale = rescale
        self.weighting = _Divided(self.weighting, rescale_divisor(c, rescale))

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(c={self.c}, norm_eps={self.norm_eps}, rescale={self.rescale})"
