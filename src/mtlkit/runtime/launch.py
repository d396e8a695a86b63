"""Checks made before a run starts processes, so that a distributed or swept run fails early and clearly."""

from __future__ import annotations

import os
from typing import Any

from omegaconf import DictConfig, ListConfig, open_dict

from mtlkit.errors import ConfigError

BASIC_LAUNCHER = "hydra._internal.core_plugins.basic_launcher.BasicLauncher"
# Strategies whose processes are started by re-running the command line (Lightning's script launcher).
_RELAUNCHING = (
    "auto",
    "ddp",
    "ddp_find_unused_parameters_true",
    "ddp_find_unused_parameters_false",
    "fsdp",
    "deepspeed",
)


def _process_count(trainer_cfg: DictConfig) -> int:
    """Processes the trainer will run: devices per node (an int, a list, or "0,1"; -1 = all) times nodes."""
    devices: Any = trainer_cfg.get("devices", 1)
    if isinstance(devices, (list, ListConfig)):
        per_node = len(devices)
    elif isinstance(devices, int):
        per_node = devices
    else:
        text = str(devices)
        per_node = len(text.split(",")) if "," in text else int(text) if text.lstrip("-").isdigit() else 1
    if per_node == -1:
        per_node = 2  # all devices: assume several
    return per_node * int(trainer_cfg.get("num_nodes") or 1)


def relaunches_command(trainer_cfg: DictConfig) -> bool:
    """True when Lightning will start the other processes by re-running this command line."""
    strategy = trainer_cfg.get("strategy", "auto")
    if not isinstance(strategy, str) or "SLURM_NTASKS" in os.environ or "LOCAL_RANK" in os.environ:
        return False  # processes created by SLURM/torchrun, or we are one of the relaunched ones
    return strategy.lower() in _RELAUNCHING and _process_count(trainer_cfg) > 1


def is_multi_process(trainer_cfg: DictConfig) -> bool:
    """Whether the trainer config starts several processes (devices x nodes > 1, or a ddp strategy)."""
    devices = trainer_cfg.get("devices", 1)
    nodes = int(trainer_cfg.get("num_nodes", 1) or 1)
    many_devices = (isinstance(devices, int) and devices > 1) or (
        isinstance(devices, (list, tuple, ListConfig)) and len(devices) > 1
    )
    strategy = str(trainer_cfg.get("strategy", "auto"))
    return nodes > 1 or many_devices or (strategy.startswith("ddp") and devices not in (1, "1"))


def check_distributed_launch(cfg: DictConfig) -> None:
    """Fail with the fix when the trainer configuration cannot run as set up here."""
    trainer_cfg = cfg.trainer
    accelerator = str(trainer_cfg.get("accelerator", "auto")).lower()
    if trainer_cfg.get("sync_batchnorm") and accelerator == "cpu":
        raise ConfigError(
            "trainer.sync_batchnorm=true needs GPUs (torch's SyncBatchNorm does not run on CPU): "
            "set trainer.sync_batchnorm=false, or use trainer=ddp on GPUs"
        )
    if trainer_cfg.get("use_distributed_sampler"):
        raise ConfigError(
            "trainer.use_distributed_sampler=true: mtlkit's data modules split batches across processes "
            "themselves (mtlkit.data.sampling) and Lightning's sampler would replace that; set it to false"
        )
    strategy = trainer_cfg.get("strategy", "auto")
    if isinstance(strategy, str) and ("spawn" in strategy or "fork" in strategy or "notebook" in strategy):
        raise ConfigError(
            f"trainer.strategy={strategy} trains in child processes whose evaluation results do not come back to "
            "this one (results.json would be empty): use trainer.strategy=ddp (a multirun then needs Hydra's "
            "basic launcher, the default, or hydra/launcher=slurm)"
        )
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized() or not relaunches_command(trainer_cfg):
        return
    hydra_cfg = HydraConfig.get()
    if hydra_cfg.mode == RunMode.MULTIRUN and hydra_cfg.launcher.get("_target_") != BASIC_LAUNCHER:
        raise ConfigError(
            f"trainer.strategy={trainer_cfg.strategy} starts its processes by re-running the command line, which "
            f"only works with Hydra's basic launcher (the default: jobs run one after the other, each on all "
            f"devices), not {hydra_cfg.launcher.get('_target_')}; on a SLURM cluster use hydra/launcher=slurm, "
            "where SLURM starts the processes"
        )


def prepare_launch(cfg: DictConfig) -> None:
    """Check the distributed setup and resolve ``ckpt_path=last`` (:mod:`mtlkit.runtime.resume`) into this run's
    ``last.ckpt`` or None, so that every approach can pass ``cfg.ckpt_path`` to ``trainer.fit``."""
    from lightning_fabric.utilities.rank_zero import _get_rank

    from mtlkit.console import get_console
    from mtlkit.runtime.resume import resolve_ckpt_path

    check_distributed_launch(cfg)
    ckpt_path = resolve_ckpt_path(cfg)
    if ckpt_path is not None and not _get_rank():
        get_console().print(f"[bold]Continuing from {ckpt_path}[/] (ckpt_path=null starts afresh)")
    with open_dict(cfg):
        cfg.ckpt_path = ckpt_path
