"""weighting=cagrad: CAGrad's direction as its authors compute it, by default divided by 1 + c^2 (their and LibMTL's
default ``rescale=1``), checked against an independent solution of the paper's problem."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from mtlkit.config import CONFIG_DIR

pytest.importorskip("torchjd", reason='the TorchJD methods need pip install "mtlkit[mtl]"')
scipy_optimize = pytest.importorskip("scipy.optimize")

TASKS = ["t0", "t1", "t2", "t3"]


def _paper_direction(jacobian: torch.Tensor, c: float) -> np.ndarray:
    """Liu et al. 2021, Algorithm 1: g0 the mean gradient, w on the simplex minimising
    g_w . g0 + c ||g0|| ||g_w||, then d = g0 + c ||g0|| / ||g_w|| * g_w (no rescaling), solved with SLSQP."""
    g = jacobian.double().numpy()
    g0 = g.mean(0)
    radius = c * np.linalg.norm(g0)

    def objective(w: np.ndarray) -> float:
        gw = w @ g
        return float(gw @ g0 + radius * np.sqrt(gw @ gw + 1e-20))

    t = len(g)
    result = scipy_optimize.minimize(
        objective,
        np.full(t, 1.0 / t),
        bounds=[(0.0, 1.0)] * t,
        constraints={"type": "eq", "fun": lambda w: w.sum() - 1.0},
        method="SLSQP",
        options={"ftol": 1e-14, "maxiter": 1000},
    )
    gw = result.x @ g
    return g0 + radius / np.linalg.norm(gw) * gw


def _build(**overrides):
    cfg = OmegaConf.create({"seed": 0, "weighting": OmegaConf.load(CONFIG_DIR / "weighting" / "cagrad.yaml")})
    for key, value in overrides.items():
        cfg.weighting[key] = value
    return instantiate(cfg.weighting, tasks=TASKS)


@pytest.mark.parametrize(("rescale", "divisor"), [(None, 1 + 0.4**2), (1, 1 + 0.4**2), (2, 1.4), (0, 1.0)])
def test_the_direction_is_the_papers_divided_as_rescale_says(rescale, divisor):
    overrides = {} if rescale is None else {"rescale": rescale}  # None: the config's default, the authors' 1
    method = _build(**overrides)
    jacobian = torch.randn(4, 30, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    direction = method.aggregate(jacobian, None).numpy()
    expected = _paper_direction(jacobian, c=0.4) / divisor
    assert np.linalg.norm(direction - expected) < 1e-4 * np.linalg.norm(expected)  # two solvers (Clarabel, SLSQP)
    torch.testing.assert_close(method.weights() @ jacobian, torch.from_numpy(direction))


def test_a_bad_rescale_is_refused_naming_the_key():
    with pytest.raises(Exception, match="weighting.rescale must be 0"):
        _build(rescale=3)
