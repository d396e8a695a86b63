"""approach=transfer: backbones come from checkpoints intact, heads are new, mismatches are named."""

from __future__ import annotations

import json
import math

import pytest
import torch

from mtlkit.approaches.transfer import build_finetune_module, finetune_settings
from mtlkit.approaches.transfer_source import SourceBackbone
from mtlkit.build import build_datamodule
from mtlkit.errors import CheckpointError, ConfigError
from mtlkit.models.module import MultiTaskModule
from mtlkit.models.separate import network_state
from mtlkit.run import train
from mtlkit.runtime.checkpoints import load_checkpoint, resolve_checkpoint
from tests.conftest import TINY, TINY_SOURCE
from tests.helpers import compose_config

TASKS = ["pedestrian", "car", "stop_sign", "traffic_light"]


def _backbone_of(ckpt_file) -> dict[str, torch.Tensor]:
    ckpt, _ = load_checkpoint(ckpt_file)
    return backbone_state(ckpt)


def backbone_state(ckpt) -> dict[str, torch.Tensor]:
    """The shared backbone's weights of a checkpoint (what a transfer takes out of it)."""
    return MultiTaskModule.transferable_backbone(ckpt["state_dict"], ckpt["mtlkit"], None, "ckpt")[0]


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _transfer(tmp_path, *overrides: str) -> dict:
    return train(compose_config([*TINY, *TINY_SOURCE, "approach=transfer", *overrides], tmp_path))


def test_head_only_from_a_multitask_checkpoint_keeps_the_backbone_bit_identical(tiny_checkpoints, tmp_path):
    source = resolve_checkpoint(tiny_checkpoints["multitask"])
    res = _transfer(tmp_path, "finetune=head_only", f"transfer.checkpoint={tiny_checkpoints['multitask']}")
    assert res["transfer"]["source"]["pretrained_here"] is False
    assert res["transfer"]["checkpoint"] == str(source)
    assert not (tmp_path / "pretrain").exists()
    # the fine-tuned model's backbone: every weight and BatchNorm statistic as in the source checkpoint
    assert _same(_backbone_of(res["best_checkpoint"]), _backbone_of(source))
    heads = res["parameters"]["parts"]["heads"]
    assert res["parameters"]["trainable"] == heads["trainable"] == heads["total"] == 4 * (8 + 1)
    saved = json.loads((tmp_path / "results.json").read_text())
    multitask = json.loads((tiny_checkpoints["multitask"] / "results.json").read_text())
    for split in ("val", "test"):
        assert saved["metrics"][split]["per_task"].keys() == multitask["metrics"][split]["per_task"].keys()
        assert (
            saved["metrics"][split]["per_task"]["car"].keys() == multitask["metrics"][split]["per_task"]["car"].keys()
        )


def test_the_run_dir_of_a_transfer_run_gives_the_backbone_of_the_stage_asked_for(tiny_checkpoints, tmp_path, capsys):
    first = _transfer(tmp_path / "a", "finetune=full", f"transfer.checkpoint={tiny_checkpoints['multitask']}")
    run = tmp_path / "a"
    fine = _transfer(tmp_path / "b", "finetune=head_only", f"transfer.checkpoint={run}", "transfer.stage=finetune")
    assert fine["transfer"]["checkpoint"] == first["best_checkpoint"] and fine["transfer"]["stage"] == "finetune"
    fine_tuned = _backbone_of(first["best_checkpoint"])
    assert _same(_backbone_of(fine["best_checkpoint"]), fine_tuned)
    source = resolve_checkpoint(tiny_checkpoints["multitask"])
    assert not _same(fine_tuned, _backbone_of(source))
    capsys.readouterr()
    # by default: the backbone that run fine-tuned from (here the checkpoint it was given), printed with its file
    pre = _transfer(tmp_path / "c", "finetune=head_only", f"transfer.checkpoint={run}")
    assert pre["transfer"]["checkpoint"] == str(source) and pre["transfer"]["stage"] == "pretrain"
    assert _same(_backbone_of(pre["best_checkpoint"]), _backbone_of(source))
    out = capsys.readouterr().out
    assert f"is a transfer run: its pretrain backbone, {source} (transfer.stage=finetune: its finetune one)" in out


def test_new_heads_are_freshly_initialised_not_the_sources(tiny_checkpoints, tmp_path):
    ckpt, file = load_checkpoint(tiny_checkpoints["multitask"])
    cfg = compose_config([*TINY, "approach=transfer", "finetune.head_layers=2"], tmp_path)
    dm = build_datamodule(cfg.data)
    assert dm.tasks == ckpt["mtlkit"]["tasks"] == TASKS  # same task names as the source: still new heads
    torch.manual_seed(0)
    source = SourceBackbone(backbone_state(ckpt), str(file), ckpt["mtlkit"])
    module = build_finetune_module(cfg, dm, source, finetune_settings(cfg))
    assert _same({k: v for k, v in module.backbone.state_dict().items()}, backbone_state(ckpt))
    source_w0 = ckpt["state_dict"]["heads.weights.0"]
    assert module.heads.layers == 2 and module.heads.weights[0].shape == (4, 8, 8)
    assert module.heads.weights[0].shape != source_w0.shape
    torch.manual_seed(1)
    cfg1 = compose_config([*TINY, "approach=transfer"], tmp_path)
    one = build_finetune_module(cfg1, dm, source, finetune_settings(cfg1))
    w = one.heads.weights[0]
    assert w.shape == source_w0.shape and not torch.allclose(w, source_w0)
    bound = 1 / math.sqrt(8)  # nn.Linear's init for fan-in 8
    assert w.abs().max() <= bound and one.heads.biases[0].abs().max() <= bound


def test_transfer_takes_the_named_network_of_a_separate_checkpoint(tiny_checkpoints, tmp_path):
    ckpt, file = load_checkpoint(tiny_checkpoints["separate"])
    res = _transfer(tmp_path, "finetune=head_only", f"transfer.checkpoint={file}", "transfer.task=car")
    assert res["transfer"]["task"] == "car"
    assert _same(_backbone_of(res["best_checkpoint"]), network_state(ckpt["state_dict"], TASKS.index("car")))
    assert not _same(_backbone_of(res["best_checkpoint"]), network_state(ckpt["state_dict"], 0))


def test_separate_checkpoint_without_a_task_says_which_tasks_exist(tiny_checkpoints, tmp_path):
    with pytest.raises(CheckpointError, match=r"transfer\.task=<one of \['pedestrian', 'car'"):
        _transfer(tmp_path, f"transfer.checkpoint={tiny_checkpoints['separate']}")
    with pytest.raises(CheckpointError, match="has no network"):
        _transfer(tmp_path, f"transfer.checkpoint={tiny_checkpoints['separate']}", "transfer.task=bus")
    with pytest.raises(ConfigError, match="drop transfer.task"):
        _transfer(tmp_path, f"transfer.checkpoint={tiny_checkpoints['multitask']}", "transfer.task=car")


def test_a_backbone_that_does_not_fit_names_the_mismatch_and_the_fix(tiny_checkpoints, tmp_path):
    ckpt = tiny_checkpoints["multitask"]
    with pytest.raises(CheckpointError) as err:
        _transfer(tmp_path, f"transfer.checkpoint={ckpt}", "model.width=16")
    msg = str(err.value)
    assert "shape mismatch" in msg and "blocks.0.0.weight: checkpoint [8, 3, 3, 3] vs configured [16, 3, 3, 3]" in msg
    assert "model.width=8" in msg
    with pytest.raises(CheckpointError) as err:
        _transfer(tmp_path, f"transfer.checkpoint={ckpt}", "model=mlp")
    assert "model=cnn" in str(err.value) and "missing from the checkpoint" in str(err.value)
    with pytest.raises(CheckpointError, match="model.depth=2"):
        _transfer(tmp_path, f"transfer.checkpoint={ckpt}", "model.depth=3")
    assert not (tmp_path / "results.json").exists()


def test_files_that_are_not_mtlkit_checkpoints_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.ckpt")
    torch.save({"state_dict": {}}, tmp_path / "other.ckpt")
    with pytest.raises(CheckpointError, match="not written by mtlkit"):
        load_checkpoint(tmp_path / "other.ckpt")
    (tmp_path / "run").mkdir()
    with pytest.raises(CheckpointError, match="no checkpoint found in run directory"):
        load_checkpoint(tmp_path / "run")


def test_in_run_pretraining_equals_fine_tuning_from_its_checkpoint(tmp_path):
    """Stage (b) depends on the pre-trained backbone only: the same run from transfer.checkpoint gives equal metrics."""
    first = _transfer(tmp_path / "a", "finetune=last_k")
    src = first["transfer"]["source"]
    assert src["pretrained_here"] and src["data"]["tasks"][0] == "obj004" and len(src["data"]["tasks"]) == 16
    assert set(src["metrics"]) == {"val", "test"} and (tmp_path / "a" / "pretrain" / "checkpoints").is_dir()
    assert (tmp_path / "a" / "finetune" / "checkpoints" / "last.ckpt").is_file()
    second = _transfer(tmp_path / "b", "finetune=last_k", f"transfer.checkpoint={first['transfer']['checkpoint']}")
    assert second["metrics"] == first["metrics"]


def test_lp_ft_probes_then_fine_tunes_everything_from_the_probe(tiny_checkpoints, tmp_path, monkeypatch):
    import pytorch_lightning as pl

    import mtlkit.approaches.transfer as transfer

    starts: list[torch.Tensor] = []

    class HeadsAtFitStart(pl.Callback):
        def on_fit_start(self, trainer, pl_module):
            starts.append(pl_module.heads.weights[0].detach().clone())

    build = transfer.build_trainer
    monkeypatch.setattr(
        transfer, "build_trainer", lambda cfg, extra_callbacks=(): build(cfg, [*extra_callbacks, HeadsAtFitStart()])
    )
    res = _transfer(
        tmp_path,
        "finetune=lp_ft",
        "finetune.probe_epochs=1",
        "trainer.max_epochs=2",
        f"transfer.checkpoint={tiny_checkpoints['multitask']}",
    )
    probe, full = res["finetune"]["phases"]
    assert (probe["name"], full["name"]) == ("probe", "finetune")
    assert probe["parameters"]["parts"]["backbone"]["trainable"] == 0
    assert full["parameters"]["trainable"] == full["parameters"]["total"] == res["parameters"]["trainable"]
    assert set(probe["metrics"]) == {"val", "test"} and res["epochs"] == 1
    assert (tmp_path / "probe" / "checkpoints").is_dir() and (tmp_path / "finetune" / "checkpoints").is_dir()
    # the fine-tuning fit starts from the probe's best head, not from a new one
    probe_best = load_checkpoint(probe["best_checkpoint"])[0]["state_dict"]["heads.weights.0"]
    assert len(starts) == 2 and not torch.equal(starts[0], probe_best) and torch.equal(starts[1], probe_best)


def test_resuming_a_transfer_run_with_ckpt_path_is_refused_with_the_alternative(tmp_path):
    with pytest.raises(ConfigError, match="transfer.checkpoint"):
        _transfer(tmp_path, "ckpt_path=x.ckpt")


@pytest.mark.parametrize("weighting", ["uw", "pcgrad"])
def test_balancing_methods_fine_tune_through_every_phase(tiny_checkpoints, tmp_path, weighting):
    """lp_ft: a probe (no trainable shared parameter: a gradient method leaves the frozen backbone alone), then
    full fine-tuning (the backbone trains on the method's direction)."""
    source = tiny_checkpoints["multitask"]
    res = _transfer(
        tmp_path,
        f"weighting={weighting}",
        "finetune=lp_ft",
        "finetune.probe_epochs=1",
        "trainer.max_epochs=2",
        f"transfer.checkpoint={source}",
    )
    probe, full = res["finetune"]["phases"]
    assert _same(_backbone_of(probe["best_checkpoint"]), _backbone_of(resolve_checkpoint(source)))
    assert not _same(_backbone_of(res["best_checkpoint"]), _backbone_of(resolve_checkpoint(source)))
    assert all(r["auroc"] is not None for r in res["metrics"]["test"]["per_task"].values())
