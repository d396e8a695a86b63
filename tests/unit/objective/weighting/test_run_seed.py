"""The random methods (rlw, pcgrad, graddrop) draw from the run's ``seed``: ``seed=0`` and ``seed=1`` give different
weights or directions at the same step, the same seed gives the same ones (on every DDP process: the draw depends
on the seed and the step only)."""

from __future__ import annotations

import pytest
import torch

from mtlkit.build import build_weighting
from mtlkit.objective import task_losses
from mtlkit.objective.weighting.rlw import RandomLossWeighting
from tests.helpers import compose_config

TASKS = ["t0", "t1", "t2", "t3"]
RANDOM_METHODS = ["rlw", "pcgrad", "graddrop"]


def _losses(step: int):
    counts = torch.full((len(TASKS),), 5.0)
    losses = task_losses(torch.ones(len(TASKS)), torch.tensor(10.0), 10, lambda t: t, processes=1, counts=counts)
    losses.step = step
    return losses


def _draw(method, step: int = 3) -> torch.Tensor:
    """What the method draws at ``step``: RLW's weights, or the aggregated direction of a fixed Jacobian."""
    if isinstance(method, RandomLossWeighting):
        return method.draw(step)
    jacobian = torch.randn(len(TASKS), 40, generator=torch.Generator().manual_seed(0)) * 0.1
    jacobian[:, : len(TASKS)] += torch.eye(len(TASKS)) - 0.4  # every pair conflicts: PCGrad's order matters
    return method.aggregate(jacobian, _losses(step))


@pytest.mark.parametrize("name", RANDOM_METHODS)
def test_the_composed_config_passes_the_runs_seed_to_the_method(name, tmp_path):
    if name != "rlw":
        pytest.importorskip("torchjd", reason='the TorchJD methods need pip install "mtlkit[mtl]"')
    built = {}
    for seed in (0, 1):
        cfg = compose_config([f"weighting={name}", f"seed={seed}"], tmp_path)
        assert cfg.weighting.seed == seed
        built[seed] = build_weighting(cfg, TASKS)
        assert built[seed].seed == seed
    assert not torch.equal(_draw(built[0]), _draw(built[1]))
    again = build_weighting(compose_config([f"weighting={name}", "seed=1"], tmp_path), TASKS)
    assert torch.equal(_draw(again), _draw(built[1]))
    pinned = compose_config([f"weighting={name}", "seed=1", "weighting.seed=0"], tmp_path)
    assert build_weighting(pinned, TASKS).seed == 0  # a fixed draw stays possible, by naming it
