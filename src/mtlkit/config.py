"""Where mtlkit's Hydra configs live: ``conf/`` of a source checkout, or the copy packaged in the wheel."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from omegaconf import DictConfig, OmegaConf, open_dict

_SOURCE = Path(__file__).resolve().parents[2] / "conf"
_PACKAGED = Path(__file__).resolve().parent / "conf"
CONFIG_DIR = _SOURCE if (_SOURCE / "train.yaml").is_file() else _PACKAGED


def compose_train(overrides: Sequence[str] = (), output_dir: str | Path | None = None) -> DictConfig:
    """The train config as ``mtlkit-train`` composes it from ``overrides`` (outside a Hydra run: no ``hydra.*``
    runtime), with ``paths.output_dir`` set to ``output_dir`` when given. Hydra's composition errors propagate."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=list(overrides))
    if output_dir is not None:
        with open_dict(cfg):
            cfg.paths.output_dir = str(output_dir)
    return cfg


# -- resolvers used by conf/ (registered on import; mtlkit.cli.train imports this module before Hydra starts) ---------
def _sweep_group() -> str | None:
    """In a multirun, the sweep folder's name (e.g. ``2025-01-31_12-00-00``): one wandb group per sweep."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return None
    return Path(HydraConfig.get().sweep.dir).name


def _run_name() -> str | None:
    """The job's command-line overrides (``seed=1,data.missing_rate=0.5``), or None (wandb picks a name)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return None
    name = HydraConfig.get().job.override_dirname
    return name[:128] if name else None


def _sweep_stamp() -> str:
    """The time stamp of this sweep's folder, shared with the processes a DDP job re-launches (they inherit
    ``MTLKIT_SWEEP_STAMP``), so that they write into the same sweep folder rather than a new one."""
    stamp = os.environ.get(SWEEP_STAMP_ENV)
    if not stamp:
        stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
        os.environ[SWEEP_STAMP_ENV] = stamp
    return stamp


def _gpus_per_node(accelerator: str, devices: object) -> object:
    """GPUs to ask SLURM for per node: ``trainer.devices`` when training on GPUs, none for ``accelerator=cpu``."""
    return None if str(accelerator).lower() == "cpu" else devices


SWEEP_STAMP_ENV = "MTLKIT_SWEEP_STAMP"
OmegaConf.register_new_resolver("mtlkit.sweep_group", _sweep_group, replace=True)
OmegaConf.register_new_resolver("mtlkit.run_name", _run_name, replace=True)
OmegaConf.register_new_resolver("mtlkit.gpus_per_node", _gpus_per_node, replace=True)
OmegaConf.register_new_resolver("mtlkit.sweep_stamp", _sweep_stamp, replace=True, use_cache=True)
