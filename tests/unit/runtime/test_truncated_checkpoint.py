"""A checkpoint cut short (a copy that stopped, a file still being written) is called so, with the fix, wherever
it is given: transfer.checkpoint=, ckpt_path=, or read by mtlkit (predict, transfer)."""

from __future__ import annotations

import pytest
import torch

from mtlkit.config_checks.plugins import plugin_errors
from mtlkit.errors import CheckpointError
from mtlkit.runtime.checkpoints import checkpoint_file_error, load_checkpoint
from tests.helpers import compose_config

CUT = "is cut short: it starts like a PyTorch checkpoint but its end (the zip directory) is missing"
FIX = "truncated or still being written; re-copy it, or use an earlier checkpoint"


@pytest.fixture
def truncated(tmp_path):
    whole = tmp_path / "whole.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(1000)}, "mtlkit": {}}, whole)
    path = tmp_path / "cut.ckpt"
    path.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    return path


def test_a_truncated_checkpoint_is_called_cut_short_in_the_config_check(tmp_path, truncated):
    line = checkpoint_file_error("transfer.checkpoint", str(truncated))
    assert line == f"transfer.checkpoint={truncated}: {truncated} {CUT}, so it is {FIX}"
    [line] = plugin_errors(compose_config([f"ckpt_path={truncated}"], tmp_path))
    assert line.startswith(f"ckpt_path={truncated}: {truncated} {CUT}") and "not a PyTorch checkpoint" not in line


def test_reading_a_truncated_checkpoint_says_so(truncated):
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(truncated)
    assert CUT in str(err.value) and FIX in str(err.value)
