"""Checks of the composed config made before any work (no data built, no logger started, no folder written).

:func:`config_errors` returns one line per bad value (key, value and what is accepted) from the declarative
table of the framework's keys in :mod:`mtlkit.config_checks.schema`; :func:`environment_errors` adds what this
machine cannot do as configured (no GPU for ``trainer=gpu``, wandb online without a key);
:func:`~mtlkit.config_checks.plugins.plugin_errors` asks each chosen plug-in to check its own options (a
``transfer.checkpoint`` that is not a checkpoint, a fine-tuning strategy's epochs). :func:`check_config` raises one
:class:`~mtlkit.errors.ConfigError` holding every line.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue

from mtlkit.config_checks.learnability import learnability_errors
from mtlkit.config_checks.plugins import plugin_errors
from mtlkit.config_checks.rules import Rule, either, flag, integer, number, one_of, text
from mtlkit.config_checks.schema import SCHEMA, register
from mtlkit.errors import ConfigError

__all__ = [
    "SCHEMA",
    "Rule",
    "check_config",
    "config_errors",
    "either",
    "environment_errors",
    "flag",
    "integer",
    "number",
    "one_of",
    "plugin_errors",
    "register",
    "text",
]

_ABSENT = object()


def _paths(node: Any, prefix: str = "") -> Iterator[str]:
    """Every dotted key of ``node`` (inner nodes too), without resolving any value."""
    if isinstance(node, DictConfig):
        for key in node.keys():
            path = f"{prefix}{key}"
            yield path
            child = node._get_node(key)
            if isinstance(child, (DictConfig, ListConfig)) and not child._is_none() and not child._is_missing():
                if not child._is_interpolation():
                    yield from _paths(child, path + ".")


def _matching(pattern: str, paths: set[str]) -> list[str]:
    if "*" not in pattern:
        return [pattern] if pattern in paths else []
    depth = pattern.count(".")
    return sorted(p for p in paths if p.count(".") == depth and fnmatch.fnmatchcase(p, pattern))


def _value(cfg: DictConfig, key: str) -> Any:
    """The resolved value at ``key``; ``_ABSENT`` when it cannot be resolved here (checked where it is used)."""
    try:
        value = OmegaConf.select(cfg, key, throw_on_missing=True)
    except MissingMandatoryValue:
        return "???"
    except Exception:  # an interpolation that only resolves inside a run (e.g. ${hydra:...})
        return _ABSENT
    if isinstance(value, (DictConfig, ListConfig)):
        try:
            return OmegaConf.to_container(value, resolve=True)
        except Exception:
            return _ABSENT
    return value


def config_errors(cfg: DictConfig, schema: dict[str, Rule] | None = None) -> list[str]:
    """One line per value of ``cfg`` that its rule in ``schema`` (default: :data:`SCHEMA`) does not accept."""
    schema = SCHEMA if schema is None else schema
    paths = set(_paths(cfg))
    errors = []
    for pattern, rule in schema.items():
        for key in _matching(pattern, paths):
            value = _value(cfg, key)
            if value is _ABSENT:
                continue
            if value == "???":
                errors.append(f"{key} is required (it is ???): expected {rule.describe()}")
                continue
            line = rule.error(key, value)
            if line:
                errors.append(line)
    return errors


def environment_errors(cfg: DictConfig) -> list[str]:
    """What this machine cannot do as configured; see :mod:`mtlkit.config_checks.environment`."""
    from mtlkit.config_checks.environment import environment_errors as _errors

    return _errors(cfg)


def check_config(cfg: DictConfig, environment: bool = True) -> None:
    """Raise one :class:`ConfigError` with a line per problem (values first, then what leaves nothing to learn,
    then this machine's, then what each chosen plug-in finds in its own options), if any."""
    errors = config_errors(cfg)
    if not errors:
        errors = learnability_errors(cfg)  # values that are each fine but leave nothing to learn
    if environment and not errors:
        errors = environment_errors(cfg)
    if not errors:
        errors = plugin_errors(cfg)
    if errors:
        raise ConfigError("\n".join(errors))
