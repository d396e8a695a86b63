"""Checkpoints and results.json are written whole or not at all: a full disk (fault injection) is one line naming
the file and the fix, leaves the previous file intact and no truncated or temporary file behind."""

from __future__ import annotations

import errno

import pytest
import torch

from mtlkit.errors import MtlkitError
from mtlkit.evaluation.results import write_results
from mtlkit.run import train
from mtlkit.runtime.atomic_write import WriteFailedError, atomic_write
from tests.conftest import TINY
from tests.helpers import compose_config
from tests.helpers.fault_injection import DiskFullAfter


def _fill_disk(f) -> None:
    f.write(b"half of it")
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_keeps_the_previous_file_and_says_so_in_one_line(tmp_path):
    path = write_results({"status": "completed"}, tmp_path)
    before = path.read_bytes()
    with pytest.raises(WriteFailedError) as err:
        atomic_write(path, _fill_disk)
    message = str(err.value)
    assert len(message.splitlines()) == 1
    assert f"cannot write {path}: the disk (or your quota) is full; nothing was replaced" in message
    assert "keeps its previous content" in message and "hydra.run.dir=<folder>" in message
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


def test_a_disk_that_fills_during_a_checkpoint_ends_the_run_in_one_line_without_a_truncated_file(tmp_path, monkeypatch):
    monkeypatch.setattr(torch, "save", DiskFullAfter(calls=1))  # the first checkpoint fits, the second does not
    with pytest.raises(MtlkitError) as err:
        train(compose_config([*TINY, "trainer.max_epochs=3"], tmp_path))
    assert "the disk (or your quota) is full" in str(err.value)
    monkeypatch.undo()
    assert not (tmp_path / "results.json").exists()
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file() and p.suffix in (".ckpt", ".tmp"))
    assert files and all(p.suffix == ".ckpt" for p in files)
    for file in files:  # every checkpoint left is whole
        assert "state_dict" in torch.load(file, map_location="cpu", weights_only=False)
