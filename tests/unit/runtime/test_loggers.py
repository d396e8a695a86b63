"""The wandb logger says nothing spurious: no "anonymous setting" warning, no "git root ... does not exist"."""

from __future__ import annotations

import os
import subprocess
import sys

from pytorch_lightning.loggers import WandbLogger as LightningWandbLogger

from mtlkit.runtime.loggers import WandbLogger

SCRIPT = """
import sys
from mtlkit.runtime.loggers import WandbLogger
logger = WandbLogger(save_dir=sys.argv[1], offline=True, project="quiet")
logger.experiment
import wandb
wandb.finish()
"""


def test_the_anonymous_key_is_dropped_and_the_folder_made(tmp_path):
    assert "anonymous" in LightningWandbLogger(save_dir=str(tmp_path / "a"), offline=True)._wandb_init
    ours = WandbLogger(save_dir=str(tmp_path / "b" / "pretrain"), offline=True)
    assert "anonymous" not in ours._wandb_init and (tmp_path / "b" / "pretrain").is_dir()
    assert WandbLogger(save_dir=str(tmp_path / "c"), offline=True, anonymous=True)._wandb_init["anonymous"] == "allow"


def test_a_wandb_run_in_a_new_folder_prints_no_warning(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "WANDB_SILENT"}
    env.update(WANDB_MODE="offline", WANDB_DIR=str(tmp_path))
    folder = tmp_path / "run" / "pretrain"  # does not exist yet, as a transfer run's stage folder
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(folder)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-2000:]
    assert "wandb" in out  # wandb did speak (its offline-run lines), so silence below is not an accident
    assert "anonymous" not in out and "git root" not in out and "WARNING" not in out
