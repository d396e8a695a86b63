"""One line for Hydra's own errors about a command line, naming the closest existing key or option.

Hydra answers ``model.widht=16`` with "To append to your config use +model.widht=16", which would add the typo.
Here the answer is ``model.widht=16: no such key; did you mean model.width?``, found among the keys that the
config composed without that override has at that level (and, at the top level, the config groups' names). A key
that lives elsewhere in ``conf/`` gets where (``finetune.k=2: finetune=full has no k; k is an option of
finetune=last_k``; ``transfer.checkpoint=...: ... comes only with approach=transfer``: :mod:`.key_homes`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from mtlkit.config import CONFIG_DIR, NO_EXPERIMENTS
from mtlkit.config_checks.key_homes import moved_key_hint


def _closest(word: str, candidates: Iterable[str]) -> str | None:
    candidates = sorted(set(candidates))
    found = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    if not found:  # prefixes and case slips: "lr" for "optimizer.lr" is not for here, "Width" is
        lowered = {c.lower(): c for c in candidates}
        found = [lowered[word.lower()]] if word.lower() in lowered else []
    return found[0] if found else None


def _groups() -> list[str]:
    return sorted(p.name for p in CONFIG_DIR.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def _compose(overrides: list[str]) -> tuple[DictConfig | None, dict[str, Any]]:
    """The train config with ``overrides`` (or with fewer of them when those do not compose) and its groups'
    choices, or ``(None, {})``."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    choices = [o for o in overrides if "=" in o and "." not in o.split("=", 1)[0] and not o.startswith(("+", "~"))]
    for attempt in (overrides, choices, []):
        try:
            GlobalHydra.instance().clear()
            with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
                cfg = compose(config_name="train", overrides=attempt, return_hydra_config=True)
        except Exception:
            continue
        finally:
            GlobalHydra.instance().clear()
        choices = OmegaConf.to_container(cfg.hydra.runtime.choices)
        with open_dict(cfg):
            del cfg["hydra"]
        return cfg, dict(choices) if isinstance(choices, dict) else {}
    return None, {}


def _plain_overrides(argv: list[str], leave_out: str) -> list[str]:
    return [
        a
        for a in argv
        if "=" in a
        and not a.startswith(("-", "hydra.", "hydra/"))
        and a.lstrip("+~").split("=", 1)[0] != leave_out
        and not re.search(r"=[^\[\]{}'\"]*,", a)  # a sweep (seed=0,1) does not compose outside -m
    ]


def suggest_key(key: str, cfg: DictConfig | None) -> tuple[str | None, list[str]]:
    """The existing dotted key closest to ``key`` in ``cfg`` (or None), and the keys at the level it differs."""
    if cfg is None:
        return None, []
    parts = key.split(".")
    node: Any = cfg
    fixed: list[str] = []
    for i, part in enumerate(parts):
        keys = [str(k) for k in node.keys()] if isinstance(node, DictConfig) else []
        if i == 0:
            keys += _groups()
        if part in keys and isinstance(node, DictConfig) and part in node:
            fixed.append(part)
            node = node._get_node(part)
            continue
        best = _closest(part, keys)
        if best is None:
            return None, sorted(set(keys))
        fixed.append(best)
        rest = parts[i + 1 :]
        return ".".join(fixed + rest), sorted(set(keys))
    return None, []


def _override_text(argv: list[str], key: str) -> str:
    for a in argv:
        if a.lstrip("+~").split("=", 1)[0] == key:
            return a
    return key


def describe_hydra_error(exc: BaseException, argv: list[str]) -> str | None:
    """One line (or None when ``exc`` is not an error of Hydra's about the command line)."""
    from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException

    message = str(exc)
    first = message.strip().splitlines()[0] if message.strip() else type(exc).__name__
    if isinstance(exc, MissingConfigException):
        found = re.search(r"Could not find '([^']+)/([^'/]+)'", message)
        options = [str(o) for o in (exc.options or [])]
        if found and options:
            group, option = found.group(1).replace("/", "."), found.group(2)
            best = _closest(option, options)
            hint = f"did you mean {group}={best}? " if best else ""
            if group == "hydra.sweeper" and option == "optuna":
                hint = "install the sweeper first: pip install -e '.[optuna]' "
            return f"{group}={option}: no such option; {hint}(options of {group}: {', '.join(options)})"
        return first
    if isinstance(exc, OverrideParseException):
        return (
            f"cannot read the command line ({first}): quote values with special characters, e.g. "
            "'data.tasks=[car,stop_sign]' or key='\"a b\"' (Hydra's override grammar)"
        )
    if not isinstance(exc, ConfigCompositionException):
        return None
    missing = re.search(r"Could not override '([^']+)'", message)
    if missing:
        key = missing.group(1)
        given = _override_text(argv, key)
        if key == "experiment":  # no experiments/conf/ here: an installed mtlkit
            return f"{given}: {NO_EXPERIMENTS}"
        cfg, choices = _compose(_plain_overrides(argv, key))
        moved = moved_key_hint(given, key, cfg, choices)
        if moved is not None and ("-m" in argv or "--multirun" in argv):
            plain = given.lstrip("+~")
            sweep = f"in a sweep whose jobs differ there, ++{plain} sets it where it exists and adds it elsewhere"
            return f"{moved}; {sweep}"
        if moved is not None:
            return moved
        best, keys = suggest_key(key, cfg)
        if best is not None:
            value = given.split("=", 1)[1] if "=" in given else "..."
            is_group = "." not in best and best in _groups()
            return f"{given}: no such key; did you mean {best}={value}?" + (" (a config group)" if is_group else "")
        parent = key.rsplit(".", 1)[0] if "." in key else "the config"
        shown = ", ".join(keys[:25]) + (", ..." if len(keys) > 25 else "")
        return (
            f"{given}: no such key in {parent} (its keys: {shown}); to add a new key on purpose: +{given.lstrip('+')}"
        )
    exists = re.search(r"An item is already at '([^']+)'", message)
    if exists:
        key = exists.group(1)
        given = _override_text(argv, key)
        return f"{given}: {key} exists already; set it without the +: {given.lstrip('+')}"
    absent = re.search(r"Could not delete from config. '([^']+)' does not exist", message)
    if absent:
        return f"~{absent.group(1)}: no such key to delete"
    ambiguous = re.search(r"Ambiguous value for argument '([^']+)'", message)
    if ambiguous:
        arg = ambiguous.group(1)
        key, value = arg.split("=", 1)
        return (
            f"{arg}: a list is written {key}=[{value}], a text with commas {key}='{value}', "
            "and a sweep over the values needs -m (--multirun)"
        )
    return " ".join(line.strip() for line in message.splitlines() if line.strip())
