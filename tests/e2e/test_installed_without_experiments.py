"""An installed mtlkit (the wheel's layout: mtlkit/conf/ inside the package, no experiments/ folder) asked for
``experiment=NAME`` exits with code 2 and one line saying where the presets are, not a traceback nor "no such key"."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from mtlkit.config import CONFIG_DIR, NO_EXPERIMENTS
from tests.conftest import REPO

pytestmark = pytest.mark.slow


def test_experiment_without_the_presets_is_refused_in_one_line(tmp_path):
    site = tmp_path / "site"
    shutil.copytree(REPO / "src" / "mtlkit", site / "mtlkit", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "src" / "hydra_plugins", site / "hydra_plugins")
    shutil.copytree(CONFIG_DIR, site / "mtlkit" / "conf")  # pyproject's force-include: conf -> mtlkit/conf
    env = {**os.environ, "PYTHONPATH": str(site)}
    run = [sys.executable, "-m", "mtlkit.cli.train", "--cfg", "job"]
    plain = subprocess.run(run, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert plain.returncode == 0, plain.stderr  # the installed copy composes (and is the one imported)
    proc = subprocess.run(
        [*run, "experiment=c1_partial_labels"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"mtlkit-train: error: experiment=c1_partial_labels: {NO_EXPERIMENTS}"
