"""weighting=mgda: torchjd's Frank-Wolfe stops at ``weighting.epsilon`` (default 1e-3, a few % from the exact
min-norm point); a tighter ``epsilon`` / ``max_iters`` from the config reaches it (docs/loss.md)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from mtlkit.config import CONFIG_DIR

pytest.importorskip("torchjd", reason='the TorchJD methods need pip install "mtlkit[mtl]"')
quadprog = pytest.importorskip("quadprog")


def _exact_min_norm(jacobian: torch.Tensor) -> torch.Tensor:
    """argmin ||J^T w|| over the simplex: a QP on the Gramian, solved by quadprog (float64)."""
    gramian = (jacobian @ jacobian.T).double().numpy()
    t = len(gramian)
    constraints = np.hstack([np.ones((t, 1)), np.eye(t)])
    w = quadprog.solve_qp(gramian + 1e-12 * np.eye(t), np.zeros(t), constraints, np.r_[1.0, np.zeros(t)], meq=1)[0]
    return torch.from_numpy(w) @ jacobian.double()


def _mgda(**overrides):
    cfg = OmegaConf.load(CONFIG_DIR / "weighting" / "mgda.yaml")
    for key, value in overrides.items():
        cfg[key] = value
    return instantiate(cfg, tasks=["a", "b", "c", "d"])


def test_the_tolerance_is_an_option_and_a_tight_one_reaches_the_exact_min_norm_point():
    g = torch.Generator().manual_seed(11)
    jacobian = (
        torch.randn(4, 50, generator=g) * torch.tensor([[3.0], [0.3], [1.0], [2.0]]) + torch.randn(50, generator=g)
    ).double()
    exact = _exact_min_norm(jacobian)

    def distance(method) -> float:
        return float((method.aggregate(jacobian, None) - exact).norm() / exact.norm())

    default = _mgda()
    assert default._get((0, 1, 2, 3), jacobian.device, jacobian.dtype).epsilon == 0.001
    assert distance(default) < 0.1
    assert distance(_mgda(epsilon=1e-7, max_iters=100000)) < 1e-3
