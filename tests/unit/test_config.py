"""End to end through Hydra's compose API, in process."""

import json

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from mtlkit.run import train
from tests.conftest import TINY
from tests.helpers import compose_config


def test_default_config_composes_with_documented_defaults(tmp_path):
    cfg = compose_config([], tmp_path)
    assert cfg.approach.name == "multitask"
    assert cfg.data.missing_rate == 0.5 and cfg.data.hide_splits == ["train"]
    assert cfg.loss.normalization == "examples" and cfg.loss.unknown == "ignore"
    assert cfg.logger.wandb.offline is True
    assert cfg.trainer.accelerator == "cpu"


def test_overrides_reach_the_config(tmp_path):
    cfg = compose_config(["data.missing_rate=0.8", "model.width=16", "trainer.max_epochs=2"], tmp_path)
    assert (cfg.data.missing_rate, cfg.model.width, cfg.trainer.max_epochs) == (0.8, 16, 2)


def test_unknown_key_fails_and_names_it(tmp_path):
    with pytest.raises(ConfigCompositionException, match="widht"):
        compose_config(["model.widht=16"], tmp_path)


def test_unknown_group_option_lists_the_available_ones(tmp_path):
    with pytest.raises(ConfigCompositionException, match="multitask"):
        compose_config(["approach=multitsak"], tmp_path)


def test_fast_dev_run_end_to_end(tmp_path):
    cfg = compose_config([*TINY, "trainer.fast_dev_run=true"], tmp_path)
    results = train(cfg)
    assert results["approach"] == "multitask"
    assert set(results["metrics"]) == {"val", "test"}
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["tasks"] == ["pedestrian", "car", "stop_sign", "traffic_light"]
    assert set(saved["metrics"]["test"]["per_task"]) == set(saved["tasks"])


def test_short_training_learns_and_records_everything(tmp_path):
    overrides = [*TINY, "data.num_train=1500", "trainer.max_epochs=3", "model.width=16", "data.missing_rate=0.5"]
    cfg = compose_config(overrides, tmp_path)
    results = train(cfg)
    saved = json.loads((tmp_path / "results.json").read_text())
    for key in ("approach", "data", "tasks", "label_counts", "seed", "metrics", "timings", "parameters"):
        assert key in saved, key
    assert saved["data"]["sizes"] == {"train": 1500, "val": 128, "test": 128}
    train_unknown = sum(c["unknown"] for c in saved["label_counts"]["train"].values())
    assert 0.45 < train_unknown / (1500 * 4) < 0.55
    # a few epochs on 1500 images already beat chance clearly on average
    assert results["metrics"]["test"]["macro"]["auroc"] > 0.7
    assert (tmp_path / "checkpoints" / "last.ckpt").exists()
    assert OmegaConf.to_container(cfg)["data"]["num_train"] == 1500


@pytest.mark.parametrize(
    "option",
    [
        ["logger=none", "callbacks=none"],
        ["scheduler=none", "optimizer=sgd"],
        ["scheduler=cosine", "model=mlp", "model.width=32"],
        ["data.missing_mode=annotator", "head.layers=2", "loss.normalization=labels"],
        ["loss.unknown=negative", "data.tasks=[car]"],
    ],
    ids=lambda o: " ".join(o),
)
def test_every_shipped_option_runs(tmp_path, option):
    base = [o for o in TINY if not (o.startswith("callbacks.") and "callbacks=none" in option)]
    cfg = compose_config([*base, "trainer.fast_dev_run=true", *option], tmp_path)
    results = train(cfg)
    assert results["metrics"]["test"]["per_task"]
    assert (tmp_path / "results.json").exists()
