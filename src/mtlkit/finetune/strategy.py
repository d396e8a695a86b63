"""The fine-tuning strategy protocol: ``finetune=NAME`` picks a class (``_target_`` in conf/finetune/NAME.yaml)
that turns the ``finetune.*`` settings into phases (:class:`~mtlkit.finetune.phases.Phase`).

A strategy gets every ``finetune.*`` setting (the block in conf/train.yaml holds the settings of all strategies)
and reads the ones it uses. ``check_launch`` refuses a launch the strategy cannot train under (e.g. DDP).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from mtlkit.config import CONFIG_DIR
from mtlkit.errors import ConfigError
from mtlkit.finetune.phases import Phase


class FinetuneStrategy:
    """Base class; ``phases(max_epochs)`` is the strategy (``max_epochs`` None: not checked against the run)."""

    def __init__(self, strategy: str | None = None, **settings: Any):
        self.name = strategy or type(self).__name__
        self.settings = settings

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
    """The ``finetune=`` options: one config per strategy in conf/finetune/."""
    return sorted(p.stem for p in (Path(CONFIG_DIR) / "finetune").glob("*.yaml"))


def load_strategy(settings: Mapping[str, Any]) -> FinetuneStrategy:
    """The strategy of the ``finetune`` settings: its ``_target_``, or the config of the strategy it names."""
    from hydra.utils import get_class

    settings = dict(settings)
    target = settings.pop("_target_", None)
    if target is None:
        name = settings.get("strategy")
        file = Path(CONFIG_DIR) / "finetune" / f"{name}.yaml"
        if not name or not file.is_file():
            raise ConfigError(f"unknown finetune.strategy {name!r}; choose one of {available_strategies()}")
        target = OmegaConf.load(file).get("_target_")
    cls = get_class(str(target))
    if not (isinstance(cls, type) and issubclass(cls, FinetuneStrategy)):
        raise ConfigError(f"finetune._target_={target} is not a mtlkit.finetune.strategy.FinetuneStrategy")
    return cls(**settings)


def plan(settings: Mapping[str, Any], max_epochs: int | None) -> list[Phase]:
    """The phases of the strategy the ``finetune`` settings select, within ``max_epochs`` (None: not checked)."""
    return load_strategy(settings).phases(max_epochs)
