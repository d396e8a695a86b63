"""Where a key that the composed config lacks lives in mtlkit's ``conf/``: the option of a group that defines it
(``finetune.k``: ``finetune=last_k``), or the option that brings its group or its key with it (``finetune=NAME``,
``source.KEY``, ``transfer.KEY``: ``approach=transfer``). For the one-line answer to an old spelling of a moved key
(:mod:`mtlkit.config_checks.hydra_errors`); the config files are read as YAML, nothing is composed."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from mtlkit.config import CONFIG_DIR


@dataclass(frozen=True)
class Option:
    """One config file of a group: ``group=name``, its body, where it lands and which groups it brings."""

    group: str
    name: str
    body: Any
    is_global: bool
    brings: tuple[str, ...]  # the packages (top-level keys) of the groups its defaults list adds: finetune, source

    @property
    def choice(self) -> str:
        return f"{self.group}={self.name}"

    def defines(self, key: str) -> bool:
        """Whether ``key`` (relative to the group's package, or to the top for a ``_global_`` option) is in it."""
        node = self.body
        for part in key.split(".") if key else []:
            if not isinstance(node, DictConfig) or part not in node:
                return False
            node = node._get_node(part)
        return True


def _brought_packages(defaults: Any) -> tuple[str, ...]:
    """``/data@source: x`` -> ``source``, ``/finetune: full`` -> ``finetune`` (entries naming another group)."""
    packages = []
    for entry in defaults if isinstance(defaults, list) else []:
        if not isinstance(entry, dict):
            continue
        for name in entry:
            name = str(name).removeprefix("override ").strip()
            if name.startswith("/"):
                group, _, package = name[1:].partition("@")
                packages.append(package or group)
    return tuple(packages)


def _read(group: str, path: Path) -> Option:
    text = path.read_text()
    is_global = any(line.strip().replace(" ", "") == "#@package_global_" for line in text.splitlines()[:5])
    body = OmegaConf.create(text) or OmegaConf.create({})
    defaults = OmegaConf.to_container(body.get("defaults")) if "defaults" in body else None
    return Option(group, path.stem, body, is_global, _brought_packages(defaults))


@cache
def options(config_dir: Path = CONFIG_DIR) -> tuple[Option, ...]:
    """Every option of every top-level group of ``config_dir`` (files that do not parse are left out)."""
    found = []
    for folder in sorted(p for p in config_dir.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        for path in sorted(folder.glob("*.yaml")):
            try:
                found.append(_read(folder.name, path))
            except Exception:  # noqa: BLE001 - a file Hydra cannot read either fails there, with its own message
                continue
    return tuple(found)


def bringers(package: str, key: str = "") -> list[str]:
    """The choices (``approach=transfer``) that add the top-level ``package`` (``finetune``, ``source``,
    ``transfer``): through their defaults list, or, for a ``_global_`` option, by defining ``package.key``."""
    dotted = f"{package}.{key}" if key else package
    return [o.choice for o in options() if package in o.brings or (o.is_global and o.defines(dotted))]


def defining_options(group: str, key: str) -> list[str]:
    """The choices of ``group`` whose own file defines ``key`` (``finetune``, ``k`` -> ``finetune=last_k``)."""
    return [o.choice for o in options() if o.group == group and not o.is_global and o.defines(key)]


def moved_key_hint(given: str, key: str, cfg: DictConfig | None, choices: dict[str, Any]) -> str | None:
    """One line for ``given`` (the override of ``key``, absent from ``cfg``) when ``key`` lives in another option
    of its group or comes only with another option; None when nothing in ``conf/`` defines it (a typo)."""
    if cfg is None:
        return None
    head, _, rest = key.partition(".")
    group, _, package = head.partition("@")
    package = package or group
    holders = defining_options(group, rest) if rest else []
    if package not in cfg:
        needed = bringers(package, rest) or bringers(package)
        if not needed:
            return None
        what = f"the {head} group" if not rest or holders else f"{package}.*"
        then = f" (and {' or '.join(holders)}, which has {rest})" if holders else ""
        return f"{given}: {what} comes only with {' or '.join(needed)}; add {needed[0]}{then}"
    current = choices.get(group)
    holders = [h for h in holders if h != f"{group}={current}"]
    if not holders or package != group:
        return None
    fix = f": choose {holders[0]}" if len(holders) == 1 else ""
    return f"{given}: {group}={current} has no {rest}; {rest} is an option of {', '.join(holders)}{fix}"
