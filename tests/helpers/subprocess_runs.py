"""Helpers for tests that run ``mtlkit-train`` in a subprocess: DDP (never in-process under pytest, see
CONTRIBUTING.md, "Tests"), interrupted runs, sweeps; and a reader for wandb's offline run files."""

from __future__ import annotations

import csv
import json
import os
import socket
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.helpers.forked_cli import run_module

# Small enough for CI: 16 px scenes, a tiny network.
SMALL = [
    "data.num_train=256",
    "data.num_val=128",
    "data.num_test=128",
    "data.image_size=16",
    "data.grid=2",
    "model.width=8",
    "model.depth=2",
    "callbacks.rich_progress_bar=null",
]


def fault(step: int, signal: str) -> list[str]:
    """Overrides that make the run send ``signal`` to its rank-0 process after ``step`` steps (a fresh run only)."""
    return [
        "+callbacks.fault._target_=tests.helpers.fault_injection.SignalAtStep",
        f"+callbacks.fault.step={step}",
        f"+callbacks.fault.signal={signal}",
    ]


def checkpoint_position(run_dir: Path) -> tuple[int, int, int]:
    """(global step, epoch, batches of it done) of the run's ``checkpoints/last.ckpt``."""
    import torch

    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    position = ckpt["DrivingDataModule"]["train_position"]
    return ckpt["global_step"], position["epoch"], position["batches_done"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train(args: list[str], log_dir: Path, timeout: int = 300, **env: str) -> subprocess.CompletedProcess:
    """``python -m mtlkit.cli.train ARGS`` with outputs under ``log_dir``, wandb offline, a free DDP port (a forked
    child of a server that imported the console scripts once: tests/helpers/forked_cli.py)."""
    full_env = {
        **os.environ,
        "MTLKIT_LOG_DIR": str(log_dir),
        "WANDB_MODE": "offline",
        "PYTHONUNBUFFERED": "1",
        "MASTER_PORT": str(free_port()),
        **env,
    }
    for key in ("MTLKIT_SWEEP_STAMP", "MTLKIT_RESUMED_FROM", "LOCAL_RANK", "RANK", "WORLD_SIZE"):
        full_env.pop(key, None)
    repository = Path(__file__).resolve().parents[2]  # the working folder: tests.helpers.* can be imported
    return run_module("mtlkit.cli.train", args, full_env, timeout, cwd=repository)


def only(paths: list[Path]) -> Path:
    assert len(paths) == 1, paths
    return paths[0]


def run_dirs(log_dir: Path) -> list[Path]:
    return sorted(p.parent.parent for p in log_dir.rglob(".hydra/config.yaml"))


def results(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "results.json").read_text())


def logged(run_dir: Path, key: str) -> list[float]:
    """Every value of ``key`` in the run's CSV log, in order."""
    rows = csv.DictReader(only(list(run_dir.rglob("metrics.csv"))).open())
    return [float(r[key]) for r in rows if r.get(key)]


def wandb_run_records(path: Path) -> Iterator[Any]:
    """The records of a wandb ``run-*.wandb`` file (a LevelDB-style log of protobuf records)."""
    from wandb.proto import wandb_internal_pb2 as pb

    data, pos, block, buf = path.read_bytes(), 7, 32768, b""
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # a block's tail too short for a header is padding
            pos += block - pos % block
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        chunk, pos = data[pos + 7 : pos + 7 + length], pos + 7 + length
        buf = chunk if kind in (1, 2) else buf + chunk  # 1 full, 2 first, 3 middle, 4 last
        if kind in (1, 4):
            record = pb.Record()
            record.ParseFromString(buf)
            yield record


def wandb_runs(root: Path) -> list[dict[str, Any]]:
    """``{"dir", "id", "group", "name", "exit_code"}`` of every offline wandb run under ``root``."""
    out = []
    for path in sorted(root.rglob("offline-run-*/run-*.wandb")):
        info: dict[str, Any] = {"dir": path.parent, "exit_code": None}
        for r in wandb_run_records(path):
            kind = r.WhichOneof("record_type")
            if kind == "run":
                info.update(id=r.run.run_id, group=r.run.run_group, name=r.run.display_name)
            elif kind == "exit":
                info["exit_code"] = r.exit.exit_code
        out.append(info)
    return out


_HOLD_LOCK = (
    "import sys, time; from mtlkit.runtime.folder_lock import lock_folder; lock_folder(sys.argv[1], sys.argv[2]); "
    "print('held', flush=True); time.sleep(300)"
)


def hold_folder_lock(folder: Path, command: str = "mtlkit-train") -> subprocess.Popen:
    """Another process that holds ``folder``'s run-folder lock (as ``command``) until it is killed."""
    proc = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(folder), command], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc
