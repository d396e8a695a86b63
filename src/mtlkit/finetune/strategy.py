"""The fine-tuning strategy protocol: ``finetune=NAME`` picks a class (``_target_`` in conf/finetune/NAME.yaml)
that turns its options into phases (:class:`~mtlkit.finetune.phases.Phase`).

A strategy gets the ``finetune.*`` settings: the options every strategy shares (how the new heads are built and how
fast the backbone learns, set in conf/approach/transfer.yaml) and its own (in its conf/finetune/NAME.yaml). Each
class lists its own keys' rules in ``option_rules``; :meth:`FinetuneStrategy.preflight` checks them, the phases
against ``trainer.max_epochs`` and the launch (``check_launch``: e.g. DDP) before any folder is touched.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf

from mtlkit.config import CONFIG_DIR
from mtlkit.config_checks.options import check_options, class_rules
from mtlkit.config_checks.rules import Rule, integer, number, text
from mtlkit.errors import ConfigError
from mtlkit.finetune.phases import Phase
from mtlkit.runtime.launch import is_multi_process


class FinetuneStrategy:
    """Base class; ``phases(max_epochs)`` is the strategy (``max_epochs`` None: not checked against the run)."""

    option_rules: ClassVar[dict[str, Rule]] = {  # the options every strategy shares
        "strategy": text(null=True),
        "head_layers": integer(1),
        "head_hidden": integer(1, null=True),
        "backbone_lr_scale": number(0),
        "lr_decay": number(0, 1, min_open=True, null=True),
    }

    def __init__(self, strategy: str | None = None, **settings: Any):
        check_options("finetune", {"strategy": strategy, **settings}, class_rules(type(self)))
        self.name = strategy or type(self).__name__
        self.settings = settings

    @classmethod
    def preflight(cls, cfg: DictConfig) -> None:
        """Before any folder is touched: the options' values, the phases within ``trainer.max_epochs`` and the
        launch (one process or several)."""
        strategy = load_strategy(OmegaConf.to_container(cfg.finetune, resolve=True))  # type: ignore[arg-type]
        fast = bool(cfg.trainer.get("fast_dev_run"))
        strategy.phases(None if fast else cfg.trainer.get("max_epochs"))
        strategy.check_launch(is_multi_process(cfg.trainer))

    def phases(self, max_epochs: int | None) -> list[Phase]:
        raise NotImplementedError

    def check_launch(self, multi_process: bool) -> None:
        """Raise a ConfigError when the strategy cannot train on this launch (several processes or one)."""

    def epoch_before_end(self, key: str, max_epochs: int | None, why: str = "") -> int:
        """``finetune.<key>`` as an epoch in ``[1, max_epochs)``, or a ConfigError that says how to fix it."""
        epoch = int(self.settings.get(key, 1))
        if epoch < 1 or (max_epochs is not None and epoch >= max_epochs):
            raise ConfigError(
                f"finetune.{key}={epoch} must be in [1, trainer.max_epochs={max_epochs});{why} "
                "lower it or raise trainer.max_epochs"
            )
        return epoch


def available_strategies() -> list[str]:
    """The ``finetune=`` options of mtlkit's own conf/finetune/ (for messages)."""
    return sorted(p.stem for p in (Path(CONFIG_DIR) / "finetune").glob("*.yaml"))


def load_strategy(settings: Mapping[str, Any]) -> FinetuneStrategy:
    """The strategy the ``finetune`` settings' ``_target_`` names, built with the other settings."""
    settings = dict(settings)
    target = settings.pop("_target_", None)
    if target is None:
        raise ConfigError(
            f"the finetune settings name no strategy (no _target_): choose finetune={'|'.join(available_strategies())}"
        )
    cls = get_class(str(target))
    if not (isinstance(cls, type) and issubclass(cls, FinetuneStrategy)):
        raise ConfigError(f"finetune._target_={target} is not a mtlkit.finetune.strategy.FinetuneStrategy")
    return cls(**settings)


def plan(settings: Mapping[str, Any], max_epochs: int | None) -> list[Phase]:
    """The phases of the strategy the ``finetune`` settings select, within ``max_epochs`` (None: not checked)."""
    return load_strategy(settings).phases(max_epochs)
