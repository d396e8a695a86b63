"""What a user meets with a torchvision built for another torch (this machine's CPU torch beside PyPI's CUDA
torchvision): without mtlkit the import fails; with it, torchvision, torchmetrics, Lightning and timm import, one
warning names the mismatch and the fix, and the processes a command starts do not repeat it. Run as subprocesses
with the user's environment (the test session's own warning flag removed)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mtlkit.torchvision_compat import WARNED_ENV, extension_load_error

pytestmark = pytest.mark.slow

MISMATCHED = extension_load_error() is not None
needs_mismatch = pytest.mark.skipif(not MISMATCHED, reason="torchvision absent or matching torch here")


def python(code: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in (WARNED_ENV, "PYTHONPATH")}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


@needs_mismatch
def test_without_mtlkit_the_mismatched_torchvision_does_not_import():
    proc = python("import torchvision")
    assert proc.returncode != 0
    assert "operator torchvision::nms does not exist" in proc.stderr


def test_importing_mtlkit_is_cheap_and_torchvision_users_import_with_one_warning_per_command():
    proc = python(
        "import subprocess, sys\n"
        "import mtlkit\n"
        "assert 'torch' not in sys.modules, 'import mtlkit imported torch'\n"
        "import torchmetrics, pytorch_lightning, torchvision\n"
        "child = subprocess.run([sys.executable, '-c', 'import mtlkit, torchvision'], capture_output=True, text=True)\n"
        "assert child.returncode == 0, child.stderr\n"
        "sys.stderr.write(child.stderr)\n"
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stderr.splitlines()
    if not MISMATCHED:
        assert lines == []
        return
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("mtlkit: warning: torchvision ") and "does not match torch " in lines[0]
    assert "--index-url https://download.pytorch.org/whl/" in lines[0] and "pip uninstall torchvision" in lines[0]
