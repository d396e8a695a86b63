"""Where mtlkit's Hydra configs live: ``conf/`` of a source checkout, or the copy packaged in the wheel."""

from __future__ import annotations

from pathlib import Path

_SOURCE = Path(__file__).resolve().parents[2] / "conf"
_PACKAGED = Path(__file__).resolve().parent / "conf"
CONFIG_DIR = _SOURCE if (_SOURCE / "train.yaml").is_file() else _PACKAGED
