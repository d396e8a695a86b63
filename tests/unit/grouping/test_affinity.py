"""Lookahead task affinity (affinity=tag): related tasks attract, unrelated ones do not, "?" is no measurement,
and measuring never changes training."""

from __future__ import annotations

import json
import math

import pytest
import torch

from mtlkit.errors import ConfigError
from mtlkit.grouping.affinity import TaskAffinity, lookahead_affinity
from mtlkit.grouping.files import read_affinity, read_affinity_csv, write_affinity_csv
from mtlkit.models.backbones import MLP
from mtlkit.models.module import MultiTaskModule
from tests.conftest import TINY
from tests.helpers import compose_config

TASKS = ["signal", "copy", "noise"]


def _module(seed: int = 0) -> MultiTaskModule:
    torch.manual_seed(seed)
    return MultiTaskModule(MLP((8,), width=16, depth=2), TASKS, optimizer=lambda p: torch.optim.SGD(p, lr=0.1))


def _batch(seed: int, n: int = 256) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=g)
    signal = (x[:, 0] + x[:, 1] > 0).float()
    noise = (torch.rand(n, generator=g) < 0.5).float()
    y = torch.stack([signal, signal, noise], 1)
    return {"x": x, "y": y, "mask": torch.ones_like(y, dtype=torch.bool)}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tasks_with_the_same_labels_have_high_mutual_affinity_and_an_unrelated_task_does_not(seed):
    module = _module(seed)
    with torch.no_grad():  # the same head for signal and copy: the same task twice
        for p in module.heads.parameters():
            p[1] = p[0]
    z, cos = (m.tolist() for m in lookahead_affinity(module, _batch(seed), lr=0.5))
    assert z[0][1] > 0 and z[1][0] > 0
    assert z[0][1] == pytest.approx(z[0][0], rel=1e-5)  # a step on signal is a step on copy
    assert cos[0][1] == pytest.approx(1.0, abs=1e-6)
    assert z[0][1] > z[2][1] + 0.5 * abs(z[0][1]) and z[1][0] > z[2][0] + 0.5 * abs(z[1][0])
    assert abs(cos[0][2]) < 0.9


@pytest.mark.parametrize("seed", [0, 1])
def test_with_dropout_a_vanishing_step_measures_no_affinity(seed):
    """TAG compares the losses of one batch before and after the lookahead step: with dropout, both passes must use
    the same masks, or Z measures the masks' noise (|Z| reached 0.14 with dropout 0.3 and a 1e-9 step)."""
    torch.manual_seed(seed)
    module = MultiTaskModule(
        MLP((8,), width=32, depth=2, dropout=0.3), TASKS, optimizer=lambda p: torch.optim.SGD(p, lr=0.1)
    )
    module.train()
    z, _ = lookahead_affinity(module, _batch(seed), lr=1e-9)
    assert z.abs().max().item() < 1e-4
    real, _ = lookahead_affinity(module, _batch(seed), lr=0.5)  # a real step still measures something
    assert real.abs().max().item() > 1e-2


def test_a_task_without_labels_in_the_batch_is_no_measurement_not_a_zero():
    batch = _batch(0)
    batch["mask"][:, 2] = False
    z, cos = lookahead_affinity(_module(), batch, lr=0.5)
    assert torch.isnan(z[2]).all() and torch.isnan(z[:, 2]).all()
    assert torch.isnan(cos[2]).all() and not torch.isnan(z[0, 1])
    callback = TaskAffinity(every=1)
    callback.tasks = TASKS
    callback.reset(3)
    callback.add({"tag": z, "cosine": cos})
    full, full_cos = lookahead_affinity(_module(), _batch(0), lr=0.5)
    callback.add({"tag": full, "cosine": full_cos})
    record = callback.record()
    assert record["counts"][0][1] == 2 and record["counts"][0][2] == 1 and record["counts"][2][0] == 1
    assert record["tag"][0][2] == pytest.approx(float(full[0, 2]), abs=1e-6)  # the mean of one measurement


def test_bad_options_fail_in_one_line():
    with pytest.raises(ConfigError, match="affinity.every"):
        TaskAffinity(every=0)
    with pytest.raises(ConfigError, match="affinity.lr"):
        TaskAffinity(lr=-1.0)


def test_csv_round_trip(tmp_path):
    record = {
        "tasks": ["a", "b"],
        "tag": [[0.1, None], [-0.2, 0.3]],
        "cosine": [[1.0, 0.5], [0.5, 1.0]],
        "counts": [[3, 0], [3, 3]],
    }
    write_affinity_csv(record, tmp_path)
    back = read_affinity_csv(tmp_path / "affinity.csv")
    assert back["tag"] == record["tag"] and back["cosine"] == record["cosine"] and back["counts"] == record["counts"]
    assert read_affinity(tmp_path)["tasks"] == ["a", "b"]
    with pytest.raises(ConfigError, match="no task affinity"):
        read_affinity(tmp_path / "nowhere")


def test_a_run_with_affinity_trains_exactly_as_without_and_writes_its_files(tmp_path):
    from mtlkit.run import train

    plain = train(compose_config([*TINY], tmp_path / "plain"))
    measured = train(compose_config([*TINY, "affinity=tag", "affinity.every=2"], tmp_path / "tag"))
    assert measured["metrics"] == plain["metrics"]
    record = measured["affinity"]
    tasks = measured["tasks"]
    assert record["measurements"] == math.ceil(measured["global_steps"] / 2)
    assert len(record["tag"]) == len(tasks) and all(len(row) == len(tasks) for row in record["tag"])
    assert (tmp_path / "tag" / "affinity.csv").is_file() and (tmp_path / "tag" / "affinity.png").is_file()
    saved = json.loads((tmp_path / "tag" / "results.json").read_text())
    assert [g["k"] for g in saved["groupings"]] == list(range(1, len(tasks) + 1))
    assert saved["recommended_grouping"]["override"].startswith("approach=grouped 'approach.groups=[[")
    assert "affinity" not in plain


def test_affinity_is_refused_where_nothing_is_shared(tmp_path):
    from mtlkit.run import train

    with pytest.raises(ConfigError, match="affinity=tag measures"):
        train(compose_config([*TINY, "affinity=tag", "approach=separate"], tmp_path))


@pytest.mark.parametrize(
    "overrides, line",
    [
        (["affinity=tag", "affinity.every=0"], "affinity.every=0: expected an integer >= 1"),
        (["affinity=tag", "affinity.lr=0"], "affinity.lr=0: expected a number > 0, or null"),
        (["approach=grouped", "approach.k=0"], "approach.k=0: expected an integer >= 1"),
    ],
)
def test_grouping_options_are_checked_at_start_up(overrides, line, tmp_path):
    from mtlkit.config_checks import config_errors
    from mtlkit.config_checks.plugins import plugin_errors

    cfg = compose_config([*TINY, *overrides], tmp_path)
    errors = config_errors(cfg) + plugin_errors(cfg)  # approach.k: the Grouped class's own option_rules
    assert len(errors) == 1 and errors[0].startswith(line), errors
