"""A run folder is never clobbered: a finished run is refused unless overwrite=true, an interrupted one is continued
only with the same configuration (trainer schedule keys included), and a refused command changes no byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf, open_dict

from mtlkit.errors import RunFolderError
from mtlkit.runtime import run_folder as rf
from mtlkit.runtime.preflight import check_sweep
from tests.helpers import compose_config


def _files(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def _run(path: Path, status: str | None = "completed", ckpt_cfg=None) -> Path:
    (path / ".hydra").mkdir(parents=True)
    (path / ".hydra" / "config.yaml").write_text("model:\n  width: 8\n")
    (path / ".hydra" / "overrides.yaml").write_text("- model.width=8\n- trainer.max_epochs=1\n")
    (path / "train.log").write_text("old log\n")
    if status:
        (path / "results.json").write_text(json.dumps({"status": status, "metrics": {}}))
    if ckpt_cfg is not None:
        (path / "checkpoints").mkdir()
        torch.save(
            {"mtlkit": {"config": OmegaConf.to_container(ckpt_cfg, resolve=True)}}, path / "checkpoints" / "last.ckpt"
        )
    return path


def _cfg(overrides: list[str], run_dir: Path, **extra):
    cfg = compose_config(overrides, run_dir)
    with open_dict(cfg):
        for k, v in extra.items():
            cfg[k] = v
    return cfg


def test_a_finished_run_is_refused_and_nothing_changes(tmp_path):
    run = _run(tmp_path / "run")
    before = _files(run)
    for overrides in ([], ["model.width=16"]):
        with pytest.raises(RunFolderError, match="holds a finished run .* nothing was changed.*overwrite=true"):
            rf.guard_run_folder(_cfg(overrides, run), run)
    assert _files(run) == before


def test_resuming_a_finished_run_is_refused_with_the_command_of_a_new_run(tmp_path):
    run = _run(tmp_path / "run")
    cfg = _cfg([], run, resume=str(run))
    with pytest.raises(RunFolderError) as err:
        rf.guard_run_folder(cfg, run, ["model.width=8", "trainer.max_epochs=1", "trainer.max_epochs=3", "resume=x"])
    assert "that run finished" in str(err.value)
    assert str(err.value).endswith("mtlkit-train model.width=8 trainer.max_epochs=3")
    with pytest.raises(RunFolderError, match="give one of them"):
        rf.guard_run_folder(_cfg([], run, resume=str(run), overwrite=True), run)


def test_overwrite_true_empties_only_a_run_folder(tmp_path):
    run = _run(tmp_path / "run")
    assert rf.guard_run_folder(_cfg([], run, overwrite=True), run) is True
    rf.clear_run_folder(run)
    assert list(run.iterdir()) == []
    other = tmp_path / "not_a_run"
    other.mkdir()
    (other / "precious.txt").write_text("x")
    assert rf.guard_run_folder(_cfg([], other, overwrite=True), other) is False
    rf.clear_run_folder(other)
    assert (other / "precious.txt").read_text() == "x"


def test_an_interrupted_run_continues_only_with_the_same_configuration(tmp_path):
    run = tmp_path / "run"
    saved = compose_config(["trainer.max_epochs=1"], run)
    _run(run, status=None, ckpt_cfg=saved)
    before = _files(run)
    assert rf.guard_run_folder(_cfg(["trainer.max_epochs=1", "logger=csv"], run), run) is False  # same: continue
    with pytest.raises(RunFolderError, match=r"nothing was changed in .*model\.width: 32 in the checkpoint, 16 now"):
        rf.guard_run_folder(_cfg(["trainer.max_epochs=1", "model.width=16"], run), run)
    with pytest.raises(RunFolderError) as err:
        rf.guard_run_folder(_cfg(["trainer.max_epochs=3"], run), run, ["trainer.max_epochs=1", "trainer.max_epochs=3"])
    assert "trainer.max_epochs: 1 in the checkpoint, 3 now" in str(err.value)
    assert "training longer" in str(err.value) and str(err.value).endswith("mtlkit-train trainer.max_epochs=3")
    for key in ("scheduler=cosine", "+trainer.accumulate_grad_batches=2", "optimizer.lr=0.1"):
        with pytest.raises(RunFolderError):
            rf.guard_run_folder(_cfg(["trainer.max_epochs=1", key], run), run)
    assert "\n" not in str(err.value)
    assert _files(run) == before
    # a failed run is an interrupted one: continued with the same configuration
    (run / "results.json").write_text(json.dumps({"status": "failed"}))
    assert rf.guard_run_folder(_cfg(["trainer.max_epochs=1"], run), run) is False


def test_a_snapshot_puts_back_what_hydra_wrote(tmp_path):
    run = _run(tmp_path / "run", status=None)
    before = _files(run)
    rf.remember_run_folder(run)
    (run / ".hydra" / "config.yaml").write_text("model:\n  width: 16\n")
    (run / ".hydra" / "overrides.yaml").write_text("- model.width=16\n")
    (run / ".hydra" / "hydra.yaml").write_text("new\n")
    with (run / "train.log").open("a") as f:
        f.write("appended\n")
    assert rf.restore_run_folder() is True
    assert _files(run) == before
    assert rf.restore_run_folder() is False  # once
    rf.remember_run_folder(tmp_path / "fresh")  # a folder that held no run: nothing to put back
    assert rf.restore_run_folder() is False


def test_a_sweep_folder_with_finished_jobs_is_refused_unless_overwrite(tmp_path):
    sweep = tmp_path / "sweep"
    _run(sweep / "0")
    config = OmegaConf.create({"overwrite": False, "hydra": {"sweep": {"dir": str(sweep)}}})
    with pytest.raises(RunFolderError, match="holds finished jobs \\(0\\).*overwrite=true"):
        check_sweep(config)
    config.overwrite = True
    check_sweep(config)
    check_sweep(OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path / "new")}}}))


def test_a_finished_run_trains_longer_when_asked_and_without_a_schedule(tmp_path):
    run = tmp_path / "run"
    _run(run, ckpt_cfg=compose_config(["trainer.max_epochs=1", "scheduler=none"], run))
    before = _files(run)
    longer = _cfg(["trainer.max_epochs=3", "scheduler=none"], run, resume=str(run))
    assert rf.guard_run_folder(longer, run) is False  # asked for explicitly, and exact: it trains on
    with pytest.raises(RunFolderError, match="holds a finished run"):  # without resume=: never
        rf.guard_run_folder(_cfg(["trainer.max_epochs=3", "scheduler=none"], run), run)
    with pytest.raises(RunFolderError, match="that run finished"):  # not longer: nothing to do
        rf.guard_run_folder(_cfg(["trainer.max_epochs=1", "scheduler=none"], run, resume=str(run)), run)
    scheduled = tmp_path / "scheduled"
    _run(scheduled, ckpt_cfg=compose_config(["trainer.max_epochs=1"], scheduled))
    with pytest.raises(RunFolderError, match=r"needs a constant learning rate \(scheduler=none\)"):
        rf.guard_run_folder(_cfg(["trainer.max_epochs=3"], scheduled, resume=str(scheduled)), scheduled)
    assert _files(run) == before
