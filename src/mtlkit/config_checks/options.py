"""A plug-in's own options, checked by the plug-in: a class lists its keys' rules in ``option_rules`` (merged over
its base classes), and :func:`check_options` refuses bad values with the same one-line messages as the central
schema (:mod:`mtlkit.config_checks.schema`, which keeps only the framework's keys)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mtlkit.config_checks.rules import Rule
from mtlkit.errors import ConfigError


def class_rules(cls: type) -> dict[str, Rule]:
    """``option_rules`` of ``cls`` and of its base classes (a subclass's rule for a key wins)."""
    rules: dict[str, Rule] = {}
    for klass in reversed(cls.__mro__):
        rules.update(vars(klass).get("option_rules") or {})
    return rules


def option_errors(prefix: str, options: Mapping[str, Any], rules: Mapping[str, Rule]) -> list[str]:
    """One line per value of ``options`` (written ``prefix.key`` on the command line) that its rule refuses."""
    errors = []
    for key, rule in rules.items():
        if key in options:
            line = rule.error(f"{prefix}.{key}", options[key])
            if line:
                errors.append(line)
    return errors


def check_options(prefix: str, options: Mapping[str, Any], rules: Mapping[str, Rule]) -> None:
    """Raise one :class:`ConfigError` with a line per refused value, if any."""
    errors = option_errors(prefix, options, rules)
    if errors:
        raise ConfigError("\n".join(errors))
