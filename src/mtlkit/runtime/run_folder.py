"""A run folder is never clobbered: what a command may do to a folder that already holds a run.

A command whose run folder (``hydra.run.dir``, or the one ``resume=RUN_DIR`` names) already holds a run:

- **finished** (``results.json`` with ``"status": "completed"``): refused, nothing written, unless
  ``overwrite=true``, which empties the folder and trains again from scratch there, or ``resume=RUN_DIR
  trainer.max_epochs=N`` with a longer N and no learning-rate schedule (``scheduler=none``), which trains on;
- **interrupted or failed** with a ``last.ckpt``: continued from it if the configuration is the same (model,
  data, loss, weighting, optimizer, scheduler, seed and the trainer's schedule keys, see
  :mod:`mtlkit.runtime.resume`), else refused, nothing written;
- **interrupted before its first checkpoint**: started again in that folder.

These checks run in :class:`mtlkit.runtime.preflight.Preflight` before Hydra writes ``.hydra/`` into the folder.
A command refused later (a check that needs the data, say) gets the folder's ``.hydra/`` files and log restored
(:func:`restore_run_folder`), so that a refused command changes nothing there.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from omegaconf import DictConfig

from mtlkit.errors import CheckpointError, RunFolderError

RESULTS_FILE = "results.json"
HYDRA_DIR = ".hydra"


def is_run_folder(path: str | Path) -> bool:
    """Whether ``path`` holds an mtlkit run (its ``.hydra/config.yaml`` or a ``results.json``)."""
    path = Path(path)
    return (path / HYDRA_DIR / "config.yaml").is_file() or (path / RESULTS_FILE).is_file()


def run_status(path: str | Path) -> str | None:
    """``completed``, ``failed`` (or another recorded status) from the folder's results.json; None without one."""
    file = Path(path) / RESULTS_FILE
    if not file.is_file():
        return None
    try:
        data = json.loads(file.read_text())
    except (OSError, ValueError):
        return "unreadable"
    if not isinstance(data, dict):
        return "unreadable"
    return str(data.get("status") or ("completed" if "metrics" in data else "unknown"))


def run_overrides(path: str | Path) -> list[str]:
    """The command-line overrides that made the run in ``path`` (its ``.hydra/overrides.yaml``)."""
    file = Path(path) / HYDRA_DIR / "overrides.yaml"
    try:
        found = yaml.safe_load(file.read_text()) or []
    except (OSError, yaml.YAMLError):
        return []
    return [str(o) for o in found if not str(o).lstrip("+~").startswith(("resume=", "ckpt_path=", "overwrite="))]


def clear_run_folder(path: str | Path, keep: tuple[str, ...] = ()) -> None:
    """Delete everything in the run folder ``path`` but ``keep`` (what ``overwrite=true`` does). Refuses a folder
    that is not an mtlkit run, so that a mistyped ``hydra.run.dir`` never empties an unrelated folder."""
    path = Path(path)
    if not is_run_folder(path):
        return
    for child in path.iterdir():
        if child.name in keep:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def _same_config_hint(message: str) -> str:
    if "trainer.max_epochs" in message or "trainer.max_steps" in message:
        return (
            "; training longer (or shorter) than a run was configured for is done in place only with "
            "scheduler=none, as a learning-rate schedule spans the configured length: start a new run with the new "
            "length"
        )
    return ""


def _new_run_command(overrides: list[str]) -> str:
    """``mtlkit-train`` with ``overrides`` (the last value of each key), without resume/ckpt_path/overwrite."""
    last: dict[str, str] = {}
    for o in overrides:
        key = o.lstrip("+~").split("=", 1)[0]
        if key not in ("resume", "ckpt_path", "overwrite"):
            last.pop(key, None)
            last[key] = o
    return " ".join(["mtlkit-train", *last.values()])


def guard_run_folder(cfg: DictConfig, run_dir: str | Path, overrides: list[str] | None = None) -> bool:
    """Refuse (:class:`RunFolderError`) what must not happen to ``run_dir``; return True when the command may go
    on and should start afresh there after :func:`clear_run_folder` (``overwrite=true`` on an existing run).

    ``cfg`` is the task config (no ``hydra`` node), with ``paths.output_dir`` resolvable to ``run_dir``;
    ``overrides``, the command's (for the command of a new run that a refusal suggests).
    """
    run_dir = Path(run_dir)
    overwrite = bool(cfg.get("overwrite"))
    resume = cfg.get("resume")
    if overwrite and resume:
        raise RunFolderError(
            f"resume={resume} continues a run and overwrite=true starts it again from scratch: give one of them"
        )
    if not is_run_folder(run_dir):
        return False
    status = run_status(run_dir)
    if overwrite:
        return True
    from mtlkit.runtime.resume import last_checkpoint_path, resolve_ckpt_path, trains_longer

    if status == "completed":
        last = last_checkpoint_path(cfg)
        longer, why_not = trains_longer(last, cfg) if resume and last.is_file() else (False, "")
        if resume and not longer:
            again = _new_run_command(overrides if overrides is not None else run_overrides(run_dir))
            why = f" ({why_not})" if why_not else ""
            raise RunFolderError(
                f"resume={resume}: that run finished (results.json), there is nothing to resume and nothing was "
                f"changed{why}; to train longer or again, start a new run (in a new folder): {again}"
            )
        if not resume:
            raise RunFolderError(
                f"{run_dir} holds a finished run (results.json), nothing was changed: run in a new folder (leave out "
                "hydra.run.dir), or add overwrite=true to empty this folder and train again from scratch in it"
            )

    if cfg.get("ckpt_path") == "last" and last_checkpoint_path(cfg).is_file():
        try:
            resolve_ckpt_path(cfg)  # the same-config check against its last.ckpt
        except CheckpointError as e:
            message = " ".join(str(e).split()).rstrip(".")
            hint = _same_config_hint(message)
            if hint and overrides is not None:
                hint += f": {_new_run_command(overrides)}"
            raise RunFolderError(f"nothing was changed in {run_dir}: {message}{hint}") from e
    return False


# -- undoing what Hydra wrote for a command refused after it started --------------------------------------------
@dataclass
class FolderSnapshot:
    """The bytes of a run folder's ``.hydra/*.yaml`` and the size of its ``*.log`` files, taken before Hydra
    writes them, so that a refused command can put them back."""

    path: Path
    files: dict[str, bytes | None] = field(default_factory=dict)
    logs: dict[str, int | None] = field(default_factory=dict)

    @classmethod
    def take(cls, path: str | Path) -> FolderSnapshot:
        path = Path(path)
        snap = cls(path)
        for name in ("config.yaml", "hydra.yaml", "overrides.yaml"):
            file = path / HYDRA_DIR / name
            snap.files[name] = file.read_bytes() if file.is_file() else None
        for log in path.glob("*.log"):
            snap.logs[log.name] = log.stat().st_size
        return snap

    def restore(self) -> None:
        for name, data in self.files.items():
            file = self.path / HYDRA_DIR / name
            if data is None:
                file.unlink(missing_ok=True)
            else:
                file.write_bytes(data)
        for log in self.path.glob("*.log"):
            size = self.logs.get(log.name)
            if size is None:
                log.unlink(missing_ok=True)
            elif log.stat().st_size > size:
                with log.open("r+b") as f:
                    f.truncate(size)


_SNAPSHOT: FolderSnapshot | None = None


def remember_run_folder(path: str | Path) -> None:
    """Take the snapshot that :func:`restore_run_folder` puts back (only for a folder that already holds a run)."""
    global _SNAPSHOT
    _SNAPSHOT = FolderSnapshot.take(path) if is_run_folder(path) else None


def restore_run_folder() -> bool:
    """Put back the remembered ``.hydra/`` files and logs of the run folder; True if there was one."""
    global _SNAPSHOT
    snap, _SNAPSHOT = _SNAPSHOT, None
    if snap is None:
        return False
    try:
        snap.restore()
    except OSError:
        return False
    return True


def overwrite_sweep_job(cfg: DictConfig) -> None:
    """In a multirun with ``overwrite=true``: empty this job's folder of an earlier run's results and checkpoints
    (keeping the ``.hydra/`` files and log Hydra just wrote), so that the job trains from scratch."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode
    from lightning_fabric.utilities.rank_zero import _get_rank

    if not cfg.get("overwrite") or not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return
    if _get_rank() or run_status(cfg.paths.output_dir) is None:
        return
    folder = Path(str(cfg.paths.output_dir))
    clear_run_folder(folder, keep=(HYDRA_DIR, *(p.name for p in folder.glob("*.log"))))
