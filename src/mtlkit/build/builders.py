"""The one place where configuration becomes objects: data module, backbone, weighting, module, trainer.

Every approach, ``mtlkit-predict`` and the checkpoint reader build through these functions, from a run's config
or from the config a checkpoint stores, so a module is always built the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytorch_lightning as pl
import torch
from hydra.utils import get_class, instantiate
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import Callback
from pytorch_lightning.loggers import Logger

from mtlkit.data.base import MultiLabelDataModule
from mtlkit.errors import ConfigError
from mtlkit.evaluation.evaluator import Evaluator
from mtlkit.models.module import MultiTaskModule
from mtlkit.models.optimization import Optimization
from mtlkit.objective.weighting.base import Weighting
from mtlkit.objective.weighting.ew import EqualWeighting
from mtlkit.objective.weighting.grouped import GroupedWeighting
from mtlkit.runtime.checkpoint_io import AtomicCheckpointIO
from mtlkit.runtime.divergence import DivergenceStop


def build_datamodule(data_cfg: DictConfig, set_up: bool = True) -> MultiLabelDataModule:
    """The data module of ``data_cfg``, set up (data generated or read, split, labels hidden) unless ``set_up`` is
    False (``mtlkit-predict`` gives it the run's fitted preprocessing first)."""
    dm = instantiate(data_cfg, _convert_="all")
    if not isinstance(dm, MultiLabelDataModule):
        raise ConfigError(f"data._target_ must build a MultiLabelDataModule, got {type(dm).__name__}")
    if set_up:
        dm.setup()
    return dm


def build_backbone(model_cfg: DictConfig | Mapping[str, Any], input_shape: Sequence[int]) -> torch.nn.Module:
    """A freshly initialised backbone of ``model_cfg`` for inputs of ``input_shape``."""
    return instantiate(model_cfg, input_shape=list(input_shape))


def _import_target(group: str, target: str) -> Any:
    """The class ``<group>._target_`` names; a :class:`ConfigError` naming the import's own error if it fails."""
    try:
        return get_class(target)
    except Exception as err:  # Hydra raises ImportError or ValueError around the import's own error
        root: BaseException = err
        while root.__cause__ is not None or root.__context__ is not None:
            root = root.__cause__ or root.__context__  # type: ignore[assignment]
        raise ConfigError(f"{group}._target_={target} cannot be imported ({root}); check {group}=NAME") from err


def check_buildable(cfg: DictConfig) -> None:
    """What :func:`build_module` would refuse that the config alone decides, checked before any data are built:
    the optimizer's and the scheduler's classes, and the form of ``loss.pos_weight`` (its task names need the data)."""
    for group in ("optimizer", "scheduler"):
        node = cfg.get(group)
        if node and node.get("_target_"):
            _import_target(group, str(node._target_))
    value = (cfg.get("loss") or {}).get("pos_weight")
    resolve_pos_weight(value, list(value) if isinstance(value, Mapping) else ["any task"])


def weighting_class(cfg: DictConfig) -> type[Weighting]:
    """The class ``weighting=`` selects (equal weighting for configs written before the option existed)."""
    target = (cfg.get("weighting") or {}).get("_target_")
    if target is None:
        return EqualWeighting
    cls = _import_target("weighting", target)
    if not (isinstance(cls, type) and issubclass(cls, Weighting)):
        raise ConfigError(f"weighting._target_={target} is not a mtlkit.objective.weighting.Weighting")
    return cls


def build_weighting(cfg: DictConfig, tasks: Sequence[str], groups: Sequence[Sequence[str]] | None = None) -> Weighting:
    """The weighting of ``cfg.weighting`` for ``tasks``; with several ``groups`` (``approach=grouped``), one
    instance inside each group (equal weighting needs none: the sum of the groups' sums is the sum)."""
    cls = weighting_class(cfg)  # a clear error before instantiate wraps it
    if groups is not None and len(groups) > 1 and cls is not EqualWeighting:
        return GroupedWeighting(tasks, groups, lambda group: build_weighting(cfg, group))
    if not (cfg.get("weighting") or {}).get("_target_"):
        return EqualWeighting(tasks)
    return instantiate(cfg.weighting, tasks=list(tasks), _convert_="all")


def resolve_pos_weight(
    value: Any, tasks: Sequence[str], label_counts: Mapping[str, Any] | None = None
) -> torch.Tensor | None:
    """``loss.pos_weight`` as a ``[T]`` tensor: null -> None, a number, ``{task: number}`` (others 1), or ``auto``
    (negatives / positives among each task's labelled training entries; 1 for a task without positives). Without
    ``label_counts`` (a model rebuilt from its checkpoint) ``auto`` gives ones, which the checkpoint overwrites."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ConfigError(f"loss.pos_weight={value}: give null, a number, {{task: number}} or auto")
    if isinstance(value, (int, float)):
        if value <= 0:
            raise ConfigError(f"loss.pos_weight={value} must be > 0 (1 weighs positives like negatives)")
        return torch.full((len(tasks),), float(value))
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - set(tasks))
        if unknown:
            raise ConfigError(f"loss.pos_weight names unknown task(s) {unknown}; the tasks are {list(tasks)}")
        weights = [float(value.get(t, 1.0)) for t in tasks]
        if min(weights) <= 0:
            raise ConfigError(f"loss.pos_weight values must be > 0, got {dict(value)}")
        return torch.tensor(weights)
    if value == "auto":
        if label_counts is None:
            return torch.ones(len(tasks))
        train = label_counts["train"]
        return torch.tensor([train[t]["neg"] / train[t]["pos"] if train[t]["pos"] else 1.0 for t in tasks])
    raise ConfigError(f"loss.pos_weight={value!r}: give null, a number, {{task: number}} or auto")


def build_module(
    cfg: DictConfig,
    input_shape: Sequence[int],
    tasks: Sequence[str],
    module_cls: type[MultiTaskModule] = MultiTaskModule,
    backbone: torch.nn.Module | None = None,
    meta: Mapping[str, Any] | None = None,
    label_counts: Mapping[str, Any] | None = None,
    **options: Any,
) -> MultiTaskModule:
    """A ``module_cls`` for ``tasks`` on inputs of ``input_shape``, everything else from ``cfg``.

    ``backbone`` (default: fresh ones of ``cfg.model``, as many as ``module_cls`` needs) and ``options`` (e.g.
    ``head_layers``, ``backbone_lr_scale`` or ``lr_decay`` of a fine-tuning stage, or an already built ``weighting``)
    replace what ``cfg`` would give; the evaluator is built from ``cfg.eval`` (``eval.threshold``);
    ``meta`` joins what every checkpoint stores (the resolved config, the input shape and the approach are always
    stored); ``label_counts`` (the data module's) resolves ``loss.pos_weight=auto``.
    """
    groups = options.get("groups")  # approach=grouped: one network per group
    if backbone is None:
        backbone = module_cls.make_backbone(lambda: build_backbone(cfg.model, input_shape), tasks, groups)
    scheduler = instantiate(cfg.scheduler) if cfg.get("scheduler") else None
    weighting = options.pop("weighting", None)
    if weighting is None:
        weighting = build_weighting(cfg, tasks, groups)
    clip: dict[str, Any] = {}
    if weighting.uses_task_gradients:  # manual optimisation: the module clips (see build_trainer)
        trainer_cfg = cfg.get("trainer") or {}
        clip = {
            "gradient_clip_val": trainer_cfg.get("gradient_clip_val"),
            "gradient_clip_algorithm": trainer_cfg.get("gradient_clip_algorithm"),
        }
    config = cfg if isinstance(cfg, DictConfig) else OmegaConf.create(cfg)
    optimization = Optimization(
        optimizer=instantiate(cfg.optimizer),
        scheduler=scheduler,
        backbone_lr_scale=float(options.pop("backbone_lr_scale", 1.0)),
        lr_decay=options.pop("lr_decay", None),
        **clip,
    )
    kwargs: dict[str, Any] = dict(
        optimizer=optimization,
        head_layers=cfg.head.layers,
        head_hidden=cfg.head.hidden,
        loss_normalization=cfg.loss.normalization,
        loss_unknown=cfg.loss.unknown,
        weighting=weighting,
        pos_weight=resolve_pos_weight(cfg.loss.get("pos_weight"), tasks, label_counts),
        evaluator=Evaluator.from_config(config.get("eval"), tasks),
        meta={
            "config": OmegaConf.to_container(config, resolve=True),
            "input_shape": list(input_shape),
            "approach": cfg.approach.name,
            **(meta or {}),
        },
    )
    kwargs.update(options)
    return module_cls(backbone, list(tasks), **kwargs)


def check_gradient_method_launch(cfg: DictConfig) -> None:
    """Trainer settings a gradient method (manual optimisation) cannot train with: a one-line ConfigError each."""
    if not weighting_class(cfg).uses_task_gradients:
        return
    if int(cfg.trainer.get("accumulate_grad_batches") or 1) != 1:
        raise ConfigError(
            "a gradient method (weighting=...) steps once per batch: set trainer.accumulate_grad_batches=1, "
            "or raise data.batch_size instead"
        )
    if "16-mixed" in str(cfg.trainer.get("precision")) and "bf16" not in str(cfg.trainer.get("precision")):
        raise ConfigError(
            "a gradient method (weighting=...) reads unscaled per-task gradients, which fp16's loss scaling "
            "would corrupt: use trainer.precision=bf16-mixed or 32-true"
        )


def instantiate_group(cfg: DictConfig | None) -> list[Any]:
    """One object per entry of a group of named configs (callbacks, loggers); null entries are switched off."""
    return [instantiate(c) for c in (cfg or {}).values() if c is not None and "_target_" in c]


def build_trainer(cfg: DictConfig, extra_callbacks: list[Callback] | None = None, **overrides: Any) -> pl.Trainer:
    """The Trainer of ``cfg.trainer`` with the configured callbacks and loggers (hyper-parameters logged).

    With a gradient method (manual optimisation) the module clips gradients itself, so the Trainer gets none.
    """
    callbacks: list[Callback] = instantiate_group(cfg.get("callbacks")) + list(extra_callbacks or [])
    callbacks.append(DivergenceStop())  # a non-finite or exploding loss ends the run (mtlkit.runtime.divergence)
    loggers: list[Logger] = instantiate_group(cfg.get("logger"))
    if weighting_class(cfg).uses_task_gradients:
        check_gradient_method_launch(cfg)
        overrides = {"gradient_clip_val": None, "gradient_clip_algorithm": None, **overrides}
    overrides = {"plugins": [AtomicCheckpointIO()], **overrides}  # checkpoints written whole or not at all
    trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False, **overrides)
    for lg in loggers:
        lg.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
    return trainer
