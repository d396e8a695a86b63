"""Shared test helpers: compose the Hydra config the way ``mtlkit-train`` does, and run the CLI."""

from __future__ import annotations

import csv
import os
import subprocess
from pathlib import Path

from omegaconf import DictConfig

from mtlkit.config import compose_train
from tests.helpers.forked_cli import run_module


def compose_config(overrides: list[str], output_dir: Path) -> DictConfig:
    """The composed train config with ``paths.output_dir`` pointing at ``output_dir``."""
    return compose_train(overrides, output_dir)


def run_cli(
    args: list[str], log_dir: Path, timeout: int = 300, module: str = "mtlkit.cli.train"
) -> subprocess.CompletedProcess:
    """Run ``python -m <module> <args>`` with outputs under ``log_dir``; returns the finished process (a forked
    child of a server that imported the console scripts once: tests/helpers/forked_cli.py)."""
    env = {**os.environ, "MTLKIT_LOG_DIR": str(log_dir), "WANDB_MODE": "offline", "PYTHONUNBUFFERED": "1"}
    return run_module(module, args, env, timeout)


def results_files(log_dir: Path) -> list[Path]:
    return sorted(log_dir.rglob("results.json"))


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV file with a header, as dicts."""
    with Path(path).open(newline="") as fh:
        return list(csv.DictReader(fh))


def only_row(records: list[dict], **match) -> dict:
    """The one record whose values equal ``match`` (fails unless exactly one does)."""
    rows = [r for r in records if all(r[k] == v for k, v in match.items())]
    assert len(rows) == 1, (match, records)
    return rows[0]
