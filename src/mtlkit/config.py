"""Where mtlkit's Hydra configs live (``conf/`` of a source checkout, or the copy packaged in the wheel), and what
config groups and options they hold (``mtlkit-train --help`` lists them from there)."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from omegaconf import DictConfig, OmegaConf, open_dict

_SOURCE = Path(__file__).resolve().parents[2] / "conf"
_PACKAGED = Path(__file__).resolve().parent / "conf"
CONFIG_DIR = _SOURCE if (_SOURCE / "train.yaml").is_file() else _PACKAGED
# The evidence's experiment presets (experiment=NAME): in a source checkout only, put on Hydra's search path by
# src/hydra_plugins/mtlkit_experiments/searchpath.py (experiments/README.md)
EXPERIMENTS_CONFIG_DIR = _SOURCE.parent / "experiments" / "conf"
NO_EXPERIMENTS = (
    "the experiment presets are not installed: they live in experiments/conf/experiment/ of a source checkout; "
    "clone mtlkit, pip install -e . in it and run from there (experiments/README.md)"
)


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


# What each group of conf/ is for (its options are read from the folder); a group without a line here is listed too.
GROUP_PURPOSES = {
    "approach": "how the tasks share networks: one for all, one per task, pre-train then fine-tune, one per group",
    "data": "the data set (generated, or your table or images), its tasks, hidden labels, batch size",
    "data@source": "approach=transfer's pre-training data (any data option; source.KEY=VALUE)",
    "finetune": "approach=transfer: which parameters train, and when (finetune.k, blocks, lr_decay, ...)",
    "weighting": "how the per-task losses are combined: fixed, learned or loss-based weights, gradient methods",
    "affinity": "tag: measure which tasks help each other (approach=multitask; docs/grouping.md)",
    "model": "the backbone (model.width, model.depth; timm: model.name, model.pretrained)",
    "optimizer": "torch.optim constructors (optimizer.lr, optimizer.weight_decay, ...)",
    "scheduler": "the learning-rate schedule over the whole run",
    "trainer": "Lightning Trainer settings (trainer.max_epochs=N, trainer.devices, trainer.precision)",
    "logger": "where metrics go (wandb is offline unless told otherwise)",
    "callbacks": "best checkpoint, early stopping, last.ckpt for resuming, the progress bar",
    "paths": "where runs (MTLKIT_LOG_DIR) and generated data (MTLKIT_CACHE_DIR) go",
    "experiment": "the mission's experiment presets (experiments/plan.md); experiment=NAME applies one",
    "hparams_search": 'a hyper-parameter search, with -m (pip install -e ".[optuna]")',
    "debug": "a quick check of the pipeline; outputs under debug/",
    "hydra/launcher": "how a sweep's (-m) jobs run: one after another (basic), side by side, or on SLURM",
}
_HYDRA_BUILTIN = {"hydra/launcher": "basic"}  # options Hydra itself provides, beside conf/'s files
_SUMMARISED = "experiment"  # dozens of round-specific presets: named by pattern, not one by one


@dataclass(frozen=True)
class ConfigGroup:
    """One config group: ``name=option`` on the command line picks one of ``options`` (``default``, if any, is the
    one train.yaml picks)."""

    name: str
    options: tuple[str, ...]
    default: str | None
    purpose: str


def config_groups(config_dir: Path = CONFIG_DIR, more: Sequence[Path] = (EXPERIMENTS_CONFIG_DIR,)) -> list[ConfigGroup]:
    """Every config group of ``config_dir`` and of the folders in ``more`` that exist (Hydra's search path), in
    train.yaml's defaults order (then the others), with its options and default: ``data@source`` for transfer's
    source data and ``hydra/launcher`` included; Hydra's own ``hydra`` group left out."""
    import yaml

    defaults: dict[str, str | None] = {}
    approaches = sorted((config_dir / "approach").glob("*.yaml"))  # an approach may add groups (transfer: finetune)
    for file in [config_dir / "train.yaml", *approaches]:
        for entry in yaml.safe_load(file.read_text()).get("defaults") or []:
            if isinstance(entry, dict):
                defaults.update({str(k).lstrip("/"): v for k, v in entry.items() if not str(k).startswith("override")})
    roots = [config_dir, *(d for d in more if d.is_dir())]
    folders = {
        path.parent.relative_to(root).as_posix()
        for root in roots
        for path in root.rglob("*.yaml")
        if path.parent != root and path.parent.name != "hydra"
    }
    names = [n for n in defaults if n.split("@")[0] in folders]
    names += sorted(n for n in folders if n not in names and not n.startswith(f"{_SUMMARISED}/"))
    groups = []
    for name in names:
        pattern = "**/*.yaml" if name == _SUMMARISED else "*.yaml"
        options = sorted(
            {
                p.relative_to(f).with_suffix("").as_posix()
                for f in (r / name.split("@")[0] for r in roots)
                for p in f.glob(pattern)
            }
        )
        options += [_HYDRA_BUILTIN[name]] if name in _HYDRA_BUILTIN else []
        default = defaults.get(name, _HYDRA_BUILTIN.get(name))
        groups.append(ConfigGroup(name, tuple(options), default, GROUP_PURPOSES.get(name, "")))
    return groups


def groups_help(width: int = 118) -> str:
    """The config groups for ``mtlkit-train --help``: each group's purpose, then its options (default marked)."""
    lines = []
    for group in config_groups():
        options = [f"{o} (default)" if o == group.default else o for o in group.options]
        if group.name == _SUMMARISED:
            options = [f"{len(options)} presets: {options[0]} ... {options[-1]} (experiments/conf/experiment/)"]
        lines.append(f"  {group.name:<15}{group.purpose}")
        lines += textwrap.wrap(" | ".join(options), width, initial_indent=" " * 17, subsequent_indent=" " * 17)
    return "\n".join(lines)


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
OmegaConf.register_new_resolver("mtlkit.groups_help", groups_help, replace=True)
OmegaConf.register_new_resolver("mtlkit.sweep_stamp", _sweep_stamp, replace=True, use_cache=True)
