"""How far weighting=mgda's Frank-Wolfe (torchjd's MGDA, stopped at ``epsilon`` / ``max_iters``) lands from the exact
min-norm point of the convex hull (quadprog on the Gramian), on 200 random 4 x 50 Jacobians, and its time per call.

    python scripts/mgda_tolerance.py
"""

from __future__ import annotations

import time

import numpy as np
import quadprog
import torch
from torchjd.aggregation import MGDA


def exact_min_norm(jacobian: torch.Tensor) -> torch.Tensor:
    """argmin ||J^T w|| over the simplex, solved as a QP on the Gramian (float64)."""
    gramian = (jacobian @ jacobian.T).double().numpy()
    t = len(gramian)
    constraints = np.hstack([np.ones((t, 1)), np.eye(t)])
    w = quadprog.solve_qp(gramian + 1e-12 * np.eye(t), np.zeros(t), constraints, np.r_[1.0, np.zeros(t)], meq=1)[0]
    return torch.from_numpy(w) @ jacobian.double()


def main() -> None:
    jacobians = []
    for seed in range(200):
        g = torch.Generator().manual_seed(seed)
        scale = torch.rand(4, 1, generator=g) * 3
        jacobians.append(torch.randn(4, 50, generator=g) * scale + torch.randn(50, generator=g) * 0.5)
    exact = [exact_min_norm(j) for j in jacobians]
    for epsilon, max_iters in [(1e-3, 100), (1e-4, 1000), (1e-5, 1000), (1e-5, 10000)]:
        method = MGDA(epsilon=epsilon, max_iters=max_iters)
        t0 = time.perf_counter()
        found = [method(j) for j in jacobians]
        ms = (time.perf_counter() - t0) / len(jacobians) * 1e3
        dist = sorted(float((d.double() - e).norm() / e.norm()) for d, e in zip(found, exact))
        print(
            f"epsilon={epsilon:g} max_iters={max_iters}: relative distance median {dist[100]:.1e}, "
            f"95th percentile {dist[189]:.1e}, max {dist[-1]:.1e}; {ms:.1f} ms per call"
        )


if __name__ == "__main__":
    main()
