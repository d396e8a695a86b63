"""The torchvision compatibility hook (mtlkit.torchvision_compat), in-process: a no-op where torchvision is absent or
works, a one-line warning naming both versions and the fix, once per command (the processes it starts inherit that
it was said). The real mismatched install is exercised in tests/e2e/test_torchvision_install.py."""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

import pytest
import torch

from mtlkit import torchvision_compat
from mtlkit.torchvision_compat import WARNED_ENV


@pytest.fixture
def fake_torchvision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A package named torchvision first on sys.path (the real one, if imported, hidden from find_spec)."""
    package = tmp_path / "torchvision"
    package.mkdir()
    (package / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "torchvision", raising=False)
    return package


def test_without_torchvision_nothing_happens(monkeypatch, capsys):
    monkeypatch.setattr(torchvision_compat.importlib.util, "find_spec", lambda name: None)
    monkeypatch.delenv(WARNED_ENV, raising=False)
    assert torchvision_compat.extension_load_error() is None
    assert torchvision_compat.make_torchvision_importable() is False
    assert capsys.readouterr().err == ""


def test_an_extension_that_cannot_load_is_named(fake_torchvision):
    assert torchvision_compat.extension_load_error() == f"no compiled extension _C in {fake_torchvision}"
    (fake_torchvision / "_C.so").write_bytes(b"not a shared library")
    assert "_C.so" in torchvision_compat.extension_load_error()


def test_a_broken_extension_gets_the_operators_declared_and_one_warning_per_command(
    fake_torchvision, monkeypatch, capsys
):
    (fake_torchvision / "_C.so").write_bytes(b"not a shared library")
    monkeypatch.delenv(WARNED_ENV, raising=False)
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "9.9.9")
    assert torchvision_compat.make_torchvision_importable() is True
    assert torchvision_compat.make_torchvision_importable() is True
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    assert f"torchvision 9.9.9 does not match torch {torch.__version__}" in lines[0]
    assert "compiled extension cannot load" in lines[0]
    assert "pip install torchvision==9.9.9 --index-url https://download.pytorch.org/whl/" in lines[0]
    assert "pip uninstall torchvision" in lines[0]
    assert torch.ops.torchvision.nms.default._schema.name == "torchvision::nms"  # what torchvision imports
    assert torch.ops.torchvision.qnms.default._schema.name == "torchvision::qnms"


def test_a_process_started_by_a_warned_command_stays_quiet(fake_torchvision, monkeypatch, capsys):
    monkeypatch.setenv(WARNED_ENV, "1")  # inherited from the command that started this process (a DDP rank, a job)
    assert torchvision_compat.make_torchvision_importable() is True
    assert capsys.readouterr().err == ""


def test_the_hook_runs_once_just_before_torchvision_is_looked_up(monkeypatch):
    calls = []
    monkeypatch.setattr(torchvision_compat, "make_torchvision_importable", lambda: calls.append(1))
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    monkeypatch.delitem(sys.modules, "torchvision", raising=False)
    torchvision_compat.uninstall()
    torchvision_compat.install()
    torchvision_compat.install()
    assert sum(isinstance(f, torchvision_compat._TorchvisionImportHook) for f in sys.meta_path) == 1
    sys.meta_path[0].find_spec("numpy")
    assert calls == []
    sys.meta_path[0].find_spec("torchvision")
    assert calls == [1]
    assert not any(isinstance(f, torchvision_compat._TorchvisionImportHook) for f in sys.meta_path)
