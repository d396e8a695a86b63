"""Runs that cannot learn are refused before training, in one line naming the cause and the fix: from the config
alone (before any data are built) or right after the data are built; a task with a single class in train only
warns, and the other tasks train."""

from __future__ import annotations

import json

import pytest

from mtlkit.build.learnable_data import data_learnability_warnings
from mtlkit.config_checks import check_config
from mtlkit.errors import ConfigError, DataError
from mtlkit.run import train
from tests.conftest import TINY
from tests.helpers import compose_config
from tests.helpers.userdata import write_table

TABLE = ["data=table", "data.label_columns=[a,b,c]", "model=mlp", "trainer.max_epochs=1", "logger=csv"]


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        (["data.missing_rate=1.0"], "data.missing_rate=1.0 hides every training label"),
        (["data.missing_rate=[1,1,1,1]"], "data.missing_rate=1.0 for every task hides"),
        (["trainer.max_epochs=-1"], "trainer.max_epochs=-1 trains without end, but the learning-rate schedule"),
    ],
)
def test_a_config_that_cannot_learn_is_one_line_before_any_data(tmp_path, overrides, words):
    with pytest.raises(ConfigError) as err:
        check_config(compose_config([*TINY, *overrides], tmp_path), environment=False)
    assert words in str(err.value) and len(str(err.value).splitlines()) == 1


@pytest.mark.parametrize(
    "overrides",
    [
        ["trainer.max_epochs=-1", "+trainer.max_steps=10"],  # a length makes the schedule valid
        ["trainer.max_epochs=-1", "scheduler=none"],  # no schedule: an endless run is the user's choice
        ["data.missing_rate=0.99"],
        ["data.missing_rate=1.0", "data.missing_mode=annotator"],  # every example keeps one label
    ],
)
def test_configs_that_can_learn_pass(tmp_path, overrides):
    check_config(compose_config([*TINY, *overrides], tmp_path), environment=False)


def test_the_dict_form_is_refused_only_when_it_hides_every_task(tmp_path):
    cfg = compose_config(TINY, tmp_path)
    cfg.data.missing_rate = {"*": 1.0}
    with pytest.raises(ConfigError, match="hides every training label"):
        check_config(cfg, environment=False)
    cfg.data.missing_rate = {"*": 1.0, "car": 0.5}
    check_config(cfg, environment=False)


def test_missing_rate_one_is_refused_before_the_data_are_built(tmp_path, monkeypatch):
    import mtlkit.run

    def never(*args, **kwargs):
        raise AssertionError("the data were built")

    monkeypatch.setattr(mtlkit.run, "build_datamodule", never)
    with pytest.raises(ConfigError, match="hides every training label"):
        train(compose_config([*TINY, "data.missing_rate=1.0"], tmp_path))


def _counts(**tasks: tuple[int, int]) -> dict:
    return {"train": {t: {"pos": p, "neg": n, "unknown": 0} for t, (p, n) in tasks.items()}}


def test_no_label_in_train_or_a_single_class_everywhere_is_refused(tmp_path):
    cfg = compose_config(TINY, tmp_path)
    with pytest.raises(DataError, match="no labelled entry for any of the 2 task"):
        data_learnability_warnings(cfg, ["a", "b"], _counts(a=(0, 0), b=(0, 0)))
    with pytest.raises(DataError, match=r"every task has a single class .*only negatives, only positives"):
        data_learnability_warnings(cfg, ["a", "b"], _counts(a=(5, 0), b=(0, 7)))


def test_all_zero_static_weights_are_refused_right_after_the_data(tmp_path):
    weights = "weighting.weights={car: 0, pedestrian: 0, stop_sign: 0, traffic_light: 0}"
    cfg = compose_config([*TINY, "weighting=static", weights], tmp_path)
    with pytest.raises(ConfigError, match="gives every task weight 0, so the loss is 0"):
        train(cfg)
    assert not (tmp_path / "results.json").exists() and not (tmp_path / "checkpoints").exists()
    some = compose_config([*TINY, "weighting=static", "weighting.weights={car: 0}"], tmp_path)
    assert data_learnability_warnings(some, ["car", "pedestrian"], _counts(car=(3, 3), pedestrian=(3, 3))) == []


def test_a_task_with_only_positives_warns_and_the_others_train(tmp_path):
    path = tmp_path / "t.csv"
    frame = write_table(path, n=120)
    frame["c"] = "1"  # every c label is positive
    frame.to_csv(path, index=False)
    out = tmp_path / "run"
    results = train(compose_config([*TABLE, f"data.path={path}"], out))
    assert results["status"] == "completed"
    written = json.loads((out / "results.json").read_text())
    assert len(written["warnings"]) == 1
    assert "1 task(s) cannot learn from train (only positives: c)" in written["warnings"][0]
    assert "data.tasks=[a,b]" in written["warnings"][0]


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        (["loss.pos_weight=-1"], "loss.pos_weight=-1 must be > 0"),
        (["loss.pos_weight=often"], "loss.pos_weight='often': give null, a number"),
        (["loss.pos_weight={car: 0}"], "loss.pos_weight values must be > 0"),
        (["optimizer._target_=torch.optim.Nope"], "optimizer._target_=torch.optim.Nope cannot be imported"),
    ],
)
def test_refusals_the_config_decides_come_before_the_data_are_built(tmp_path, monkeypatch, overrides, words):
    import mtlkit.run

    def never(*args, **kwargs):
        raise AssertionError("the data were built")

    monkeypatch.setattr(mtlkit.run, "build_datamodule", never)
    with pytest.raises(ConfigError, match=words.replace("(", r"\(").replace(".", r"\.")):
        train(compose_config([*TINY, *overrides], tmp_path))
