"""The TorchJD gradient methods (conf/weighting/<name>.yaml): each config builds the aggregator it names and
aggregates exactly as torchjd does; absent tasks are left out (never NaN); the random ones draw the same numbers on
every process; a missing package is a one-line ConfigError naming the fix; each method trains end to end."""

from __future__ import annotations

import math
import sys

import pytest
import torch
from hydra.utils import get_class, instantiate
from hypothesis import given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from mtlkit.build import build_weighting
from mtlkit.config import CONFIG_DIR
from mtlkit.errors import ConfigError, user_error
from mtlkit.objective import task_losses
from mtlkit.objective.weighting.torchjd_aggregator import TorchJDAggregator, step_seed
from mtlkit.run import train
from mtlkit.runtime.checkpoints import load_checkpoint
from tests.conftest import TINY
from tests.helpers import compose_config

pytest.importorskip("torchjd", reason='the TorchJD methods need pip install "mtlkit[mtl]"')

METHODS = [
    "upgrad",
    "mgda",
    "pcgrad",
    "cagrad",
    "nash_mtl",
    "imtl_g",
    "aligned_mtl",
    "dualproj",
    "graddrop",
    "fairgrad",
]
TASKS = ["t0", "t1", "t2", "t3"]
WRAPPER_KEYS = ("_target_", "aggregator", "seed", "log_every", "jacobian")


def _config(name: str):
    """conf/weighting/<name>.yaml as it sits in a run's config (``${seed}`` is the run's seed)."""
    return OmegaConf.create(
        {"seed": 0, "weighting": OmegaConf.load(CONFIG_DIR / "weighting" / f"{name}.yaml")}
    ).weighting


def _build(name: str, tasks: list[str] = TASKS) -> TorchJDAggregator:
    return instantiate(_config(name), tasks=tasks)


def _direct(name: str, matrix: torch.Tensor, step: int = 0) -> torch.Tensor:
    """torchjd's own aggregator, built from the config's keys, on ``matrix``, seeded as the step's aggregation."""
    cfg = OmegaConf.to_container(_config(name), resolve=True)
    cls = get_class(cfg["aggregator"])
    kwargs = {k: v for k, v in cfg.items() if k not in WRAPPER_KEYS}
    if cls.__name__ == "NashMTL":
        kwargs["n_tasks"] = len(matrix)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(step_seed(cfg.get("seed", 0), step))
        return cls(**kwargs)(matrix)


def _losses(present: list[bool], step: int = 0):
    """The TaskLosses of one process whose global batch has a labelled entry for the ``present`` tasks."""
    counts = torch.tensor([5.0 if p else 0.0 for p in present])
    losses = task_losses(torch.ones(len(present)), torch.tensor(10.0), 10, lambda t: t, processes=1, counts=counts)
    losses.step = step
    return losses


def _jacobian(seed: int = 0, rows: int = 4, cols: int = 50) -> torch.Tensor:
    return torch.randn(rows, cols, generator=torch.Generator().manual_seed(seed))


def test_every_method_has_a_config():
    assert {p.stem for p in (CONFIG_DIR / "weighting").glob("*.yaml") if "TorchJDAggregator" in p.read_text()} == set(
        METHODS
    )


@pytest.mark.parametrize("name", METHODS)
def test_the_config_builds_and_aggregates_as_torchjd_does(name):
    method = _build(name)
    assert isinstance(method, TorchJDAggregator) and method.uses_task_gradients and method.log_every is None
    jacobian = _jacobian()
    direction = method.aggregate(jacobian, _losses([True] * 4, step=7))
    assert direction.shape == (50,) and torch.isfinite(direction).all()
    assert torch.equal(direction, _direct(name, jacobian, step=7))


def _unequal_jacobian() -> torch.Tensor:
    """Rows of very different norms, some conflicting: no method weighs them all 1."""
    jacobian = _jacobian(seed=5)
    return jacobian * torch.tensor([[3.0], [0.2], [1.0], [0.5]])


@pytest.mark.parametrize("name", METHODS)
def test_the_logged_weights_are_the_ones_the_aggregator_applied(name):
    """Issue 24: task_weights logged 1.0 for every task with a gradient method. Now w with J^T w = the direction
    (exact for torchjd's weighted aggregators; least squares for GradDrop, whose direction drops coordinates)."""
    method = _build(name)
    assert method.weights() is None  # nothing applied yet: the monitor logs 1
    jacobian = _unequal_jacobian()
    direction = method.aggregate(jacobian, _losses([True, True, False, True], step=2))
    w = method.weights()
    assert w.shape == (4,) and w[2] == 0 and not torch.allclose(w, torch.ones(4))
    if name == "graddrop":
        residual = w[[0, 1, 3]] @ jacobian[[0, 1, 3]] - direction  # orthogonal to the rows: the best fit
        torch.testing.assert_close(jacobian[[0, 1, 3]] @ residual, torch.zeros(3), atol=1e-4, rtol=0)
    else:
        torch.testing.assert_close(w @ jacobian, direction, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", ["upgrad", "mgda"])
def test_upgrad_and_mgda_weights_match_torchjds_weightings(name):
    from torchjd.aggregation import MGDAWeighting, UPGradWeighting

    jacobian = _unequal_jacobian()
    method = _build(name)
    method.aggregate(jacobian, _losses([True] * 4))
    reference = (UPGradWeighting() if name == "upgrad" else MGDAWeighting(epsilon=0.001, max_iters=100))(
        jacobian @ jacobian.T
    )
    torch.testing.assert_close(method.weights(), reference)


def test_the_method_is_named_in_one_line():
    line = _build("cagrad").describe()
    assert "\n" not in line and "TorchJDAggregator" in line and "CAGrad" in line and "c=0.4" in line


@pytest.mark.parametrize("name", METHODS)
def test_an_absent_task_is_left_out(name):
    jacobian = _jacobian()
    jacobian[2] = 0.0  # t2 has no labelled entry in the global batch: its row is zero
    direction = _build(name).aggregate(jacobian, _losses([True, True, False, True], step=3))
    assert torch.isfinite(direction).all()
    assert torch.equal(direction, _direct(name, jacobian[[0, 1, 3]], step=3))


@pytest.mark.parametrize("name", METHODS)
@settings(max_examples=8, deadline=None)
@given(present=st.lists(st.booleans(), min_size=4, max_size=4), seed=st.integers(0, 1000), step=st.integers(0, 50))
def test_what_an_absent_task_row_holds_changes_nothing(name, present, seed, step):
    jacobian = _jacobian(seed)
    other = jacobian.clone()
    for j, p in enumerate(present):
        if not p:
            jacobian[j] = 0.0
            other[j] = torch.randn(50, generator=torch.Generator().manual_seed(seed + 1 + j)) * 10
    a = _build(name).aggregate(jacobian, _losses(present, step))
    b = _build(name).aggregate(other, _losses(present, step))
    assert torch.equal(a, b) and torch.isfinite(a).all()
    if not any(present):
        assert torch.equal(a, torch.zeros(50))


def test_nash_mtl_with_one_present_task_gives_what_its_algorithm_gives():
    """torchjd 0.18 cannot build NashMTL for one task; the wrapper returns the gradient clipped to max_norm, which
    is NashMTL's answer for that task split into two identical halves (the Gramian is normalised: weights 1)."""
    nash = get_class("torchjd.aggregation.NashMTL")
    for scale in (0.01, 100.0):  # below and above max_norm
        jacobian = _jacobian() * scale
        direction = _build("nash_mtl").aggregate(jacobian, _losses([False, True, False, False]))
        halves = nash(n_tasks=2, max_norm=1.0)(torch.stack([jacobian[1] / 2, jacobian[1] / 2]))
        torch.testing.assert_close(direction, halves)
        assert direction.norm() <= 1.0 + 1e-6


def test_nash_mtl_keeps_one_state_per_set_of_present_tasks():
    method, fresh = _build("nash_mtl"), _build("nash_mtl")
    jacobian = _jacobian()
    method.aggregate(jacobian, _losses([True] * 4))
    partial = method.aggregate(jacobian, _losses([True, False, True, True]))  # its own, fresh state
    torch.testing.assert_close(partial, fresh.aggregate(jacobian, _losses([True, False, True, True])))


@pytest.mark.parametrize("name", ["pcgrad", "graddrop"])
def test_random_methods_draw_from_the_seed_and_step_only(name):
    """What makes them exact under DDP: every process sees the same Jacobian and step, so returns the same."""
    jacobian = _jacobian()
    torch.manual_seed(1)
    first = _build(name).aggregate(jacobian, _losses([True] * 4, step=5))
    torch.manual_seed(2)
    second = _build(name).aggregate(jacobian, _losses([True] * 4, step=5))
    assert torch.equal(first, second)
    before = torch.get_rng_state()
    _build(name).aggregate(jacobian, _losses([True] * 4, step=6))
    assert torch.equal(torch.get_rng_state(), before), "the training's random stream was used"


def test_graddrop_draws_new_signs_at_every_step():
    method, jacobian = _build("graddrop"), _jacobian()
    directions = [method.aggregate(jacobian, _losses([True] * 4, step=s)) for s in range(3)]
    assert not torch.equal(directions[0], directions[1]) and not torch.equal(directions[1], directions[2])


def test_per_task_options_follow_the_present_tasks():
    pref = [1.0, 2.0, 3.0, 4.0]
    method = TorchJDAggregator(TASKS, "torchjd.aggregation.UPGrad", pref_vector=pref)
    jacobian = _jacobian()
    upgrad = get_class("torchjd.aggregation.UPGrad")
    expected = upgrad(pref_vector=torch.tensor([1.0, 3.0, 4.0]))(jacobian[[0, 2, 3]])
    assert torch.equal(method.aggregate(jacobian, _losses([True, False, True, True])), expected)
    with pytest.raises(ConfigError, match="one value per task"):
        TorchJDAggregator(TASKS, "torchjd.aggregation.UPGrad", pref_vector=[1.0, 2.0])


def test_bad_options_fail_at_construction():
    with pytest.raises(ConfigError, match="refused its options"):
        TorchJDAggregator(TASKS, "torchjd.aggregation.CAGrad", c=-1.0)
    with pytest.raises(ConfigError, match="is not a torchjd.aggregation.Aggregator"):
        TorchJDAggregator(TASKS, "torch.nn.Linear")
    with pytest.raises(ConfigError, match="set from the tasks"):
        TorchJDAggregator(TASKS, "torchjd.aggregation.NashMTL", n_tasks=4)


def _assert_one_line_fix(exc: BaseException, package: str) -> None:
    err = user_error(exc)
    assert isinstance(err, ConfigError), exc
    message = str(err)
    assert "\n" not in message and f"needs {package}" in message and 'pip install "mtlkit[mtl]"' in message


@pytest.mark.parametrize("name", METHODS)
def test_without_torchjd_the_config_fails_before_training(name, monkeypatch, tmp_path):
    for module in [m for m in sys.modules if m == "torchjd" or m.startswith("torchjd.")]:
        monkeypatch.setitem(sys.modules, module, None)
    monkeypatch.setitem(sys.modules, "torchjd", None)
    cfg = compose_config([*TINY, f"weighting={name}"], tmp_path)
    with pytest.raises(Exception) as info:
        build_weighting(cfg, TASKS)
    _assert_one_line_fix(info.value, "torchjd")


# A package of torchjd's extras that each needs (the message names the first one torchjd finds missing)
EXTRAS = [
    ("upgrad", "quadprog"),
    ("dualproj", "qpsolvers"),
    ("cagrad", "cvxpy"),
    ("nash_mtl", "ecos"),
    ("fairgrad", "scipy"),
]


@pytest.mark.parametrize(("name", "package"), EXTRAS)
def test_without_an_extra_the_config_names_the_package(name, package, monkeypatch, tmp_path):
    import torchjd._mixins

    real = torchjd._mixins.find_spec
    monkeypatch.setattr(torchjd._mixins, "find_spec", lambda n, *a: None if n == package else real(n, *a))
    cfg = compose_config([*TINY, f"weighting={name}"], tmp_path)
    with pytest.raises(Exception) as info:
        build_weighting(cfg, TASKS)
    _assert_one_line_fix(info.value, package)


@pytest.mark.parametrize("name", METHODS)
def test_the_method_trains_end_to_end_with_absent_tasks(name, tmp_path, capsys):
    """Small batches with 90 % of the labels hidden: some batches lack a task (or all of them). The console names
    the method, and task_weights holds the weights it applied (not 1.0 for every task)."""
    overrides = [*TINY, f"weighting={name}", "model=mlp", "model.width=16", "data.missing_rate=0.9"]
    res = train(compose_config([*overrides, "data.batch_size=16"], tmp_path))
    assert res["status"] == "completed" and res["global_steps"] == 16
    assert _config(name).aggregator in capsys.readouterr().out
    logged = [w for point in res["task_weights"]["weights"] for w in point]
    assert logged and any(w != 1.0 for w in logged)
    per_task = res["metrics"]["test"]["per_task"]
    assert set(per_task) == set(res["tasks"]) and all(math.isfinite(row["auroc"]) for row in per_task.values())
    state = load_checkpoint(tmp_path / "checkpoints" / "last.ckpt")[0]["state_dict"]
    assert all(torch.isfinite(v).all() for k, v in state.items() if k.startswith(("backbone.", "heads.")))
