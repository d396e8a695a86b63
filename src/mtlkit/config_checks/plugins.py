"""One preflight for the chosen plug-ins: each top-level config node with a ``_target_`` (``approach``, ``data``,
``source``, ``model``, ``weighting``, ``finetune``, ...) names a class, and the class checks its own options:

- ``option_rules`` (a class attribute, merged over its base classes): key -> :class:`~mtlkit.config_checks.rules.Rule`
  for the keys of its node (``data.KEY`` and ``source.KEY`` alike), one line per bad value;
- ``preflight(cfg)`` (a classmethod): whatever else can be refused from the config and this machine alone, as a
  :class:`~mtlkit.errors.ConfigError` (the approach: ``ckpt_path``; ``approach=transfer``: its source's checkpoint).

Nothing here names a plug-in: a new one brings its checks in its own file. Runs after the central schema
(:mod:`mtlkit.config_checks.schema`, the framework's keys) and before the run folder is touched.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf

from mtlkit.config_checks.options import class_rules, option_errors
from mtlkit.errors import ConfigError


def chosen_plugins(cfg: DictConfig) -> Iterator[tuple[str, type, dict[str, Any]]]:
    """``(key, class, options)`` of each top-level node of ``cfg`` that names a class by ``_target_``."""
    for key in cfg.keys():
        try:
            node = cfg.get(key)
            if not isinstance(node, DictConfig) or not isinstance(node.get("_target_"), str):
                continue
            options = OmegaConf.to_container(node, resolve=True)
            cls = get_class(node._target_)
        except Exception:  # an unknown class or an unresolvable value fails where it is built, with its own message
            continue
        if isinstance(cls, type) and isinstance(options, dict):
            yield str(key), cls, options


def plugin_errors(cfg: DictConfig) -> list[str]:
    """One line per problem that a chosen plug-in finds in its own options (see the module docstring)."""
    errors: list[str] = []
    for key, cls, options in chosen_plugins(cfg):
        lines = option_errors(key, options, class_rules(cls))
        errors += lines
        preflight = getattr(cls, "preflight", None)
        if lines or not callable(preflight):
            continue
        try:
            preflight(cfg)
        except ConfigError as e:
            errors.append(str(e))
    return errors
