"""Checkpoints written before the package was laid out by axis (old class paths in their stored config, no
approach ``_target_``, no weighting) still rebuild, predict and resume."""

from __future__ import annotations

import torch

from mtlkit.build import module_from_checkpoint
from mtlkit.runtime.checkpoints import load_checkpoint, upgrade_config
from mtlkit.runtime.resume import check_same_config
from tests.conftest import TINY
from tests.helpers import compose_config


def _as_written_before(ckpt: dict) -> dict:
    cfg = ckpt["mtlkit"]["config"]
    cfg["data"]["_target_"] = "mtlkit.data.driving.DrivingDataModule"
    cfg["model"]["_target_"] = "mtlkit.models.backbones.CNN"
    cfg["callbacks"]["last_checkpoint"]["_target_"] = "mtlkit.callbacks.LastCheckpoint"
    del cfg["approach"]["_target_"], cfg["weighting"]
    return ckpt


def test_old_class_paths_are_upgraded():
    old = {"data": {"_target_": "mtlkit.data.table.TableDataModule"}, "approach": {"name": "separate"}}
    assert upgrade_config(old) == {
        "data": {"_target_": "mtlkit.data.sources.table.TableDataModule"},
        "approach": {"_target_": "mtlkit.approaches.separate.Separate", "name": "separate"},
    }
    assert upgrade_config({"model": {"_target_": "my.Net"}}) == {"model": {"_target_": "my.Net"}}


def test_a_checkpoint_of_an_older_layout_rebuilds_and_resumes(tiny_checkpoints, tmp_path):
    run = tiny_checkpoints["multitask"]
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    old = tmp_path / "old.ckpt"
    torch.save(_as_written_before(ckpt), old)
    module = module_from_checkpoint(*load_checkpoint(old))
    new = module_from_checkpoint(*load_checkpoint(run / "checkpoints" / "last.ckpt"))
    x = torch.randn(2, 3, 16, 16)
    assert torch.equal(module(x), new(x))
    check_same_config(old, compose_config([*TINY, "approach=multitask"], tmp_path))  # no difference reported


def test_a_model_whose_weighting_cannot_be_rebuilt_here_still_predicts(tiny_checkpoints, tmp_path, capsys):
    """A run trained with a method whose package this machine lacks: predictions do not need the weighting."""
    run = tiny_checkpoints["multitask"]
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    ckpt["mtlkit"]["config"]["weighting"] = {"_target_": "not_installed_here.Method"}
    ckpt["state_dict"]["weighting.scale"] = torch.ones(4)  # its state, which the fallback leaves out
    other = tmp_path / "other.ckpt"
    torch.save(ckpt, other)
    module = module_from_checkpoint(*load_checkpoint(other))
    assert "not_installed_here" in capsys.readouterr().out
    new = module_from_checkpoint(*load_checkpoint(run / "checkpoints" / "last.ckpt"))
    x = torch.randn(2, 3, 16, 16)
    assert torch.equal(module(x), new(x))
