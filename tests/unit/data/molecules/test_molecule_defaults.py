"""The plain ``data=molecules`` / ``data=tox21`` / ``data=toxcast`` command gets ``model=mlp``, the setting chosen on
Tox21's validation split (experiments/tox21_defaults/), and the command line still wins over it. Composition only:
nothing trains."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from mtlkit.config import CONFIG_DIR
from tests.helpers import compose_config

MLP = OmegaConf.load(CONFIG_DIR / "model" / "mlp.yaml")
CNN_TARGET = "mtlkit.models.backbones.cnn.CNN"


@pytest.mark.parametrize("data", ["data=molecules", "data=tox21", "data=toxcast"])
def test_a_molecule_data_set_selects_the_mlp_as_conf_model_mlp_has_it(data, tmp_path):
    cfg = compose_config([data], tmp_path)
    assert OmegaConf.to_container(cfg.model) == OmegaConf.to_container(MLP)
    assert cfg.trainer.max_epochs == compose_config([], tmp_path).trainer.max_epochs  # training defaults unchanged


def test_other_data_keeps_the_cnn(tmp_path):
    assert compose_config([], tmp_path).model._target_ == CNN_TARGET
    assert compose_config(["data=table"], tmp_path).model._target_ == CNN_TARGET


@pytest.mark.parametrize(
    "overrides, key, value",
    [
        (["model=mlp", "model.width=64"], "model.width", 64),
        (["model.width=1024", "model.input_dropout=0.2"], "model.input_dropout", 0.2),
        (["model=cnn"], "model._target_", CNN_TARGET),
        (["approach=classical", "model=rf"], "model._target_", "mtlkit.models.classical.rf.RandomForestFamily"),
        (["trainer.max_epochs=3"], "trainer.max_epochs", 3),
    ],
)
@pytest.mark.parametrize("data", ["data=molecules", "data=tox21"])
def test_the_command_line_wins_over_the_molecule_default(data, overrides, key, value, tmp_path):
    assert OmegaConf.select(compose_config([data, *overrides], tmp_path), key) == value


def test_transfer_between_molecule_sets_composes(tmp_path):
    cfg = compose_config(["approach=transfer", "data=toxcast", "data@source=tox21"], tmp_path)
    assert cfg.source.label_columns[0] == "NR-AR" and cfg.model._target_ == MLP._target_
