"""approach=transfer refuses a source and a target that do not fit one backbone, before anything is pre-trained,
with the override that fixes it; and the source of a transfer.checkpoint is an explicit, printed choice."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from mtlkit.approaches.checkpoint_source import resolve_transfer_source
from mtlkit.approaches.transfer import Transfer
from mtlkit.approaches.transfer_inputs import InputSide, backbone_fits, check_inputs, config_side
from mtlkit.errors import CheckpointError, ConfigError
from mtlkit.run import train
from tests.conftest import TINY_SOURCE
from tests.helpers import compose_config

CNN = {"_target_": "mtlkit.models.backbones.cnn.CNN", "width": 8, "depth": 2}
MLP = {"_target_": "mtlkit.models.backbones.mlp.MLP", "width": 8, "depth": 1, "dropout": 0.0}


def _check(tmp_path, *overrides: str) -> None:
    cfg = compose_config(["approach=transfer", *overrides], tmp_path)
    Transfer.preflight(cfg)


def test_a_channel_mismatch_fails_from_the_configs_naming_both_fixes(tmp_path):
    with pytest.raises(ConfigError) as err:
        _check(tmp_path, "data=noise", "data.channels=1")
    msg = str(err.value)
    assert "[3, 32, 32]" in msg and "[1, 32, 32]" in msg and "3 vs 1 channels" in msg
    assert msg.endswith("set data.channels=3 or source.channels=1") and "\n" not in msg
    _check(tmp_path, "data=noise", "data.channels=1", "source.channels=1")  # either fix passes
    _check(tmp_path, "data=noise", "data.channels=1", "data@source=noise", "source.channels=1")


def test_image_size_matters_only_to_a_backbone_whose_weights_depend_on_it(tmp_path):
    assert backbone_fits(CNN, (3, 16, 16), (3, 40, 24))
    assert not backbone_fits(CNN, (3, 16, 16), (1, 16, 16))
    assert not backbone_fits(MLP, (3, 16, 16), (3, 32, 32))
    _check(tmp_path, "source.image_size=16")  # a CNN takes any size
    with pytest.raises(ConfigError, match=r"model=mlp needs one input size.*set data\.image_size=16 or source\.image_"):
        _check(tmp_path, "source.image_size=16", "model=mlp")


def test_sides_without_keys_or_with_unknown_entries():
    target = InputSide("the target data (images)", (1, None, None), "data", {"channels": "channels"})
    check_inputs(CNN, InputSide("src", (1, 32, 32), "source"), target)  # size unknown yet: channels agree
    with pytest.raises(ConfigError, match=r"set data\.channels=3$"):  # a checkpoint has no key to change
        check_inputs(CNN, InputSide("the checkpoint's backbone", (3, 32, 32)), target)
    with pytest.raises(ConfigError, match="use a source with 1-channel images"):
        check_inputs(CNN, InputSide("src", (3, 32, 32), "source"), InputSide("tgt", (1, 32, 32), "data"))
    with pytest.raises(ConfigError, match="cannot take both kinds of input"):
        check_inputs(MLP, InputSide("src", (3, 32, 32), "source"), InputSide("tgt", (6,), "data"))
    check_inputs(CNN, InputSide("src", None, "source"), target)  # unknown: nothing to say yet


def test_planned_shapes_of_the_data_configs(tmp_path):
    cfg = compose_config(["approach=transfer", "data=fashion_grid", "source.channels=1"], tmp_path)
    assert config_side(cfg.data, "data", "t").shape == (1, 56, 56)
    assert config_side(cfg.source, "source", "s").shape == (1, 32, 32)
    cfg = compose_config(["approach=transfer", "data=images", "data.image_size=[20,30]", "data@source=noise"], tmp_path)
    assert config_side(cfg.data, "data", "t").shape == (None, 20, 30)
    assert config_side(cfg.source, "source", "s").shape == (3, 32, 32)
    assert config_side(cfg.data, "data", "t", shape=[1, 8, 8]).shape == (1, 8, 8)  # the built data's own shape


def _grey_images(root, n=40, size=16):
    (root / "img").mkdir(parents=True)
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (size, size), dtype=np.uint8), "L").save(root / f"img/{i}.png")
        rows.append({"path": f"img/{i}.png", "dark": i % 2, "odd": int(i % 3 == 0)})
    pd.DataFrame(rows).to_csv(root / "labels.csv", index=False)
    return root / "labels.csv"


def test_a_grey_image_folder_fails_after_its_data_are_built_and_before_pre_training(tmp_path, monkeypatch):
    import mtlkit.approaches.pretrain_here as pretrain_here

    def no_pretraining(*args, **kwargs):
        raise AssertionError("pre-training started")

    monkeypatch.setattr(pretrain_here, "build_datamodule", no_pretraining)  # the source's data are never built
    path = _grey_images(tmp_path / "data")
    overrides = ["approach=transfer", "data=images", f"data.path={path}", "data.batch_size=8", *TINY_SOURCE]
    overrides += ["model.width=8", "model.depth=2", "logger=csv", "callbacks.rich_progress_bar=null"]
    with pytest.raises(ConfigError, match=r"the target data \(images\) \[1, 16, 16\].*set data\.channels=3 or source"):
        train(compose_config(overrides, tmp_path / "run"))
    assert not (tmp_path / "run" / "pretrain").exists()


def test_an_empty_checkpoint_and_a_stage_without_checkpoint_are_errors(tmp_path):
    with pytest.raises(ConfigError, match="transfer.checkpoint is empty"):
        _check(tmp_path, "transfer.checkpoint=")
    with pytest.raises(ConfigError, match="transfer.checkpoint is empty"):
        resolve_transfer_source("  ")
    with pytest.raises(ConfigError, match="give that folder too, or drop transfer.stage"):
        _check(tmp_path, "transfer.stage=finetune")


def _fake_transfer_run(folder, pretrained: bool = True):
    """A transfer run's folder: results.json pointing at its two stages' checkpoints (files of no content)."""
    (folder / "pretrain" / "checkpoints").mkdir(parents=True)
    (folder / "finetune" / "checkpoints").mkdir(parents=True)
    pre = folder / "pretrain" / "checkpoints" / "epoch_003.ckpt"
    fine = folder / "finetune" / "checkpoints" / "epoch_001.ckpt"
    pre.write_bytes(b"")
    fine.write_bytes(b"")
    results = {"approach": "transfer", "best_checkpoint": str(fine), "transfer": {"checkpoint": str(pre)}}
    (folder / "results.json").write_text(json.dumps(results))
    return pre, fine


def test_a_transfer_run_folder_gives_its_pre_trained_backbone_unless_told(tmp_path):
    pre, fine = _fake_transfer_run(tmp_path / "run")
    assert resolve_transfer_source(tmp_path / "run") == (pre, "pretrain")
    assert resolve_transfer_source(tmp_path / "run", "pretrain") == (pre, "pretrain")
    assert resolve_transfer_source(tmp_path / "run", "finetune") == (fine, "finetune")
    with pytest.raises(ConfigError, match="choose pretrain or finetune"):
        resolve_transfer_source(tmp_path / "run", "best")
    with pytest.raises(ConfigError, match="drop transfer.stage"):  # a file: the stage means nothing
        resolve_transfer_source(pre, "finetune")
    assert resolve_transfer_source(pre) == (pre, None)
    pre.unlink()  # a run whose pre-training checkpoint is gone: say so, and name the other stage
    with pytest.raises(CheckpointError, match="without a pretrain checkpoint.*transfer.stage=finetune"):
        resolve_transfer_source(tmp_path / "run")


def test_an_interrupted_transfer_run_is_recognised_by_its_stage_folders(tmp_path):
    last = tmp_path / "run" / "pretrain" / "checkpoints" / "last.ckpt"
    last.parent.mkdir(parents=True)
    torch.save({}, last)
    assert resolve_transfer_source(tmp_path / "run") == (last, "pretrain")
