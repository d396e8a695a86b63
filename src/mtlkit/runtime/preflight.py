"""Checks made once the config is composed and before Hydra creates or writes anything in the run folder.

Registered first among ``hydra.callbacks`` (conf/hydra/default.yaml). Hydra calls ``on_run_start`` after composing
the config and before it makes the run folder and writes ``.hydra/config.yaml`` / ``overrides.yaml`` there, so a
command refused here leaves every folder as it was:

1. the config's values (:mod:`mtlkit.config_checks`: type and range of every known key, one line each);
2. this machine (GPU for ``trainer=gpu``, checkpoint files, a wandb key when online);
3. the run folder: no other live process writes there (:mod:`mtlkit.runtime.folder_lock`, held until this process
   ends); a finished run is never changed unless ``overwrite=true`` (:mod:`mtlkit.runtime.run_folder`);
   an interrupted one is continued only with the same configuration;
4. that the run folder can be written.

In a multirun, ``on_multirun_start`` refuses a sweep folder that already holds finished jobs (``overwrite=true``
to redo them); each job's values are checked by :func:`mtlkit.run.train` before its data is built.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, open_dict, read_write

from mtlkit.errors import ConfigError, MtlkitError, RunFolderError, report


def _rank() -> int:
    from lightning_fabric.utilities.rank_zero import _get_rank

    return _get_rank() or 0


def task_config(config: DictConfig) -> DictConfig:
    """``config`` without its ``hydra`` node (what the task function gets)."""
    task = copy.deepcopy(config)
    with read_write(task), open_dict(task):
        task.pop("hydra", None)
    return task


def _set_output_dir(config: DictConfig, run_dir: Path) -> None:
    """What Hydra's run_job does next (the same value), so that ``${hydra:runtime.output_dir}`` resolves now."""
    from hydra.core.hydra_config import HydraConfig

    with read_write(config.hydra.runtime), open_dict(config.hydra.runtime):
        config.hydra.runtime.output_dir = str(run_dir)
    HydraConfig.instance().set_config(config)


def check_run(config: DictConfig) -> None:
    """Everything of this module's docstring for a single run; raises a :class:`~mtlkit.errors.MtlkitError`."""
    from hydra.core.hydra_config import HydraConfig

    from mtlkit.config_checks import check_config
    from mtlkit.config_checks.environment import output_dir_error, wandb_is_online, wandb_timeout
    from mtlkit.runtime.folder_lock import LOCK_FILE, lock_folder
    from mtlkit.runtime.run_folder import clear_run_folder, guard_run_folder, remember_run_folder

    HydraConfig.instance().set_config(config)
    run_dir = Path(str(config.hydra.run.dir)).absolute()
    _set_output_dir(config, run_dir)
    task = task_config(config)
    check_config(task)
    if _rank() != 0:  # a process that DDP re-launched into the run folder rank 0 already checked (and locked)
        return
    lock_folder(run_dir)  # one writer per run folder, until this process ends (mtlkit.runtime.folder_lock)
    overrides = [str(o) for o in config.hydra.overrides.task]
    if guard_run_folder(task, run_dir, overrides):
        clear_run_folder(run_dir, keep=(LOCK_FILE,))
        print(f"overwrite=true: emptied {run_dir}; training again from scratch there", file=sys.stderr)
    error = output_dir_error(run_dir)
    if error:
        raise ConfigError(error)
    remember_run_folder(run_dir)
    if wandb_is_online(task):
        print(
            f"wandb: logging online; start-up waits at most {wandb_timeout(task):.0f} s "
            "(logger.wandb.settings.init_timeout; logger.wandb.offline=true skips it)",
            file=sys.stderr,
            flush=True,
        )


SWEEP_DIR: Path | None = None  # this multirun's folder, for the summary that mtlkit-train prints when a job failed


def check_sweep(config: DictConfig) -> None:
    """Refuse a sweep folder that already holds finished jobs, unless ``overwrite=true``."""
    from mtlkit.runtime.run_folder import run_status

    global SWEEP_DIR
    try:
        sweep_dir = Path(str(config.hydra.sweep.dir)).absolute()
    except Exception:  # a sweep folder named after something only a job knows: each job's folder is new
        return
    SWEEP_DIR = sweep_dir
    if _rank() != 0:
        return
    from mtlkit.runtime.folder_lock import lock_folder

    lock_folder(sweep_dir, elsewhere="another hydra.sweep.dir, or leave it out")  # one sweep per folder
    if config.get("overwrite"):
        return
    if not sweep_dir.is_dir():
        return
    finished = sorted(p.name for p in sweep_dir.iterdir() if p.is_dir() and run_status(p) == "completed")
    if finished:
        shown = ", ".join(finished[:5]) + (", ..." if len(finished) > 5 else "")
        raise RunFolderError(
            f"{sweep_dir} holds finished jobs ({shown}), nothing was changed: sweep into a new folder (leave out "
            "hydra.sweep.dir), or add overwrite=true to train them again from scratch"
        )


def _refuse_on_error(check: Any, config: DictConfig) -> None:
    """Run ``check``; a refusal is printed (one line per problem) and ends the command with exit code 2. Hydra
    turns an exception of a callback into a warning and goes on, hence the SystemExit."""
    try:
        check(config)
    except MtlkitError as e:
        report(e)
        raise SystemExit(2) from None


class Preflight(Callback):
    """Hydra callback: :func:`check_run` before a run's folder is written, :func:`check_sweep` before a sweep."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        _refuse_on_error(check_run, config)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        _refuse_on_error(check_sweep, config)
