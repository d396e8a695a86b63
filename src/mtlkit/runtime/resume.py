"""Resuming an interrupted run: ``mtlkit-train resume=RUN_DIR`` and ``ckpt_path=last``.

``resume=RUN_DIR`` reruns the command that made ``RUN_DIR`` (its ``.hydra/overrides.yaml``, plus any override
given now) in that same folder, from its ``checkpoints/last.ckpt``. ``ckpt_path=last`` (the default) continues
from this run folder's ``checkpoints/last.ckpt`` when there is one, which is what a requeued cluster job needs;
a checkpoint written with another model, data, loss, optimizer, scheduler or training length is refused, never
silently continued, and before anything is written into the folder (:mod:`mtlkit.runtime.run_folder`).

Overrides given with ``resume=`` may change what does not alter the training trajectory (loggers, progress bar,
devices). Training longer in place (``trainer.max_epochs`` above the run's) works with a constant learning rate
(``scheduler=none``): the continued run is exactly a run configured with the longer length from the start. With a
schedule (``scheduler=onecycle``, the default, or ``cosine``) it is refused before anything is written: the schedule
was laid out over the run's configured length; start a new run with the new length instead. A finished run is
continued only when asked for explicitly: ``resume=RUN_DIR trainer.max_epochs=N`` (longer, ``scheduler=none``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import yaml
from omegaconf import DictConfig, ListConfig, OmegaConf

from mtlkit.errors import CheckpointError, ConfigError
from mtlkit.runtime.checkpoints import upgrade_config
from mtlkit.runtime.last_checkpoint import LAST_CHECKPOINT

_EXPANDED_ENV = "MTLKIT_RESUMED_FROM"  # set once expanded, so that DDP child processes do not expand again
# how long the run trains: may grow on resume when there is no learning-rate schedule laid out over it
_LENGTH_KEYS = ("trainer.max_epochs", "trainer.max_steps")
# the configuration that must match for a checkpoint to be continued (dotted: one key of a group)
_SAME_CONFIG_KEYS = (
    "approach",
    "data",
    "model",
    "head",
    "loss",
    "weighting",
    "optimizer",
    "scheduler",
    "seed",
    # the trainer keys that shape the training trajectory and the learning-rate schedule's length
    *_LENGTH_KEYS,
    "trainer.accumulate_grad_batches",
    "trainer.limit_train_batches",
    "trainer.gradient_clip_val",
    "trainer.gradient_clip_algorithm",
)
_IGNORED_KEYS = ("data.cache_dir",)
_ADDED_LATER = ("weighting",)  # absent from older checkpoints, whose runs used the default (ew)


def _quote(value: str) -> str:
    return value if re.fullmatch(r"[\w/.:~+-]+", value) else "'" + value.replace("'", "\\'") + "'"


def expand_resume_argument(argv: list[str]) -> list[str]:
    """``argv`` with ``resume=DIR`` replaced by DIR's overrides, this command's others, and the run folder.

    The result reruns DIR's command in DIR (``hydra.run.dir``) with ``ckpt_path=last``; overrides given now come
    after DIR's own and so take precedence (e.g. ``trainer.max_epochs=20`` to train longer).
    """
    found = [a for a in argv[1:] if a.startswith("resume=")]
    if not found:
        return argv
    if len(found) > 1:
        raise ConfigError(f"resume= is given {len(found)} times; give one run folder")
    value = found[0].split("=", 1)[1].strip("'\"")
    if value in ("", "null", "None"):
        return [a for a in argv if a != found[0]]
    run_dir = Path(value).expanduser().resolve()
    if os.environ.get(_EXPANDED_ENV) == str(run_dir):
        return argv
    if any(a in ("-m", "--multirun") for a in argv[1:]):
        raise ConfigError("resume=RUN_DIR continues one run and cannot be swept; drop -m/--multirun")
    overrides_file = run_dir / ".hydra" / "overrides.yaml"
    if not overrides_file.is_file():
        raise ConfigError(
            f"resume={value}: {overrides_file} does not exist; give the folder of a run "
            "(it holds .hydra/, checkpoints/ and results.json), e.g. outputs/train/runs/<date>_<time>"
        )
    previous = [o for o in yaml.safe_load(overrides_file.read_text()) or [] if not _is_resume_key(o)]
    now = [a for a in argv[1:] if a != found[0] and not _is_resume_key(a)]
    os.environ[_EXPANDED_ENV] = str(run_dir)
    return [
        argv[0],
        *previous,
        *now,
        f"resume={_quote(str(run_dir))}",
        "ckpt_path=last",
        f"hydra.run.dir={_quote(str(run_dir))}",
    ]


def _is_resume_key(override: str) -> bool:
    key = override.lstrip("+~").split("=", 1)[0]
    return key in ("resume", "ckpt_path")


def last_checkpoint_path(cfg: DictConfig) -> Path:
    """Where this run keeps ``last.ckpt``: the ``last_checkpoint`` callback's folder, else ``checkpoints/``."""
    callback = (cfg.get("callbacks") or {}).get("last_checkpoint")
    if callback is not None and callback.get("dirpath"):
        return Path(callback.dirpath) / LAST_CHECKPOINT
    return Path(cfg.paths.output_dir) / "checkpoints" / LAST_CHECKPOINT


def resolve_ckpt_path(cfg: DictConfig) -> str | None:
    """The checkpoint ``trainer.fit`` continues from: ``ckpt_path`` as given, with ``last`` resolved to this
    run's ``last.ckpt`` (or None when there is none yet and no ``resume=`` asked for one)."""
    value = cfg.get("ckpt_path")
    if value in (None, "", "null"):
        return None
    if value != "last":
        if not Path(value).is_file():
            raise CheckpointError(f"ckpt_path={value}: no such file; give a .ckpt file, `last`, or null")
        return str(value)
    path = last_checkpoint_path(cfg)
    if not path.is_file():
        if cfg.get("resume"):
            raise CheckpointError(
                f"resume={cfg.resume}: there is no {path}; the run stopped before its first checkpoint "
                "(end of epoch 1, or callbacks.last_checkpoint.every_n_train_steps steps): start it again instead"
            )
        return None
    check_same_config(path, cfg)
    return str(path)


def check_same_config(path: str | Path, cfg: DictConfig) -> None:
    """Refuse to continue a checkpoint whose model, data, loss, weighting, optimizer or seed differ from ``cfg``."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as e:  # noqa: BLE001 - any unreadable file gets the same advice
        raise CheckpointError(
            f"cannot read {path} ({type(e).__name__}: {e}); delete it to start this run afresh, or set ckpt_path=null"
        ) from e
    saved = (ckpt.get("mtlkit") or {}).get("config") if isinstance(ckpt, Mapping) else None
    if not isinstance(saved, Mapping):
        return
    saved = upgrade_config(saved)
    scheduled = _get(saved, "scheduler") is not None or _current(cfg, "scheduler") is not None
    diffs = [
        f"{k}: {a!r} in the checkpoint, {b!r} now"
        for key in _SAME_CONFIG_KEYS
        if (_has(saved, key) or key not in _ADDED_LATER) and (scheduled or key not in _LENGTH_KEYS)
        for k, a, b in _differences(_get(saved, key), _current(cfg, key), key)
        if k not in _IGNORED_KEYS
    ]
    if diffs:
        shown = "; ".join(diffs[:12]) + ("; ..." if len(diffs) > 12 else "")
        raise CheckpointError(
            f"{path} was written by a run with another configuration ({shown}). "
            "Continue it with the same configuration (mtlkit-train resume=RUN_DIR reuses it), run in another "
            "folder, or set ckpt_path=null to start afresh here (its checkpoints get overwritten)."
        )


def _has(config: Mapping[str, Any], dotted: str) -> bool:
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


def _current(cfg: DictConfig, dotted: str) -> Any:
    value = OmegaConf.select(cfg, dotted)
    if isinstance(value, (DictConfig, ListConfig)):
        return OmegaConf.to_container(value, resolve=True)
    return value


def _get(config: Mapping[str, Any] | None, dotted: str) -> Any:
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def _differences(a: Any, b: Any, prefix: str) -> list[tuple[str, Any, Any]]:
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            out += _differences(a.get(k), b.get(k), f"{prefix}.{k}")
        return out
    return [] if a == b else [(prefix, a, b)]


def trains_longer(path: str | Path, cfg: DictConfig) -> tuple[bool, str]:
    """Whether ``cfg`` continues the checkpoint ``path`` for longer than it was configured for, and can: no
    learning-rate schedule (``scheduler=none``) in either. The second value says why not, when it cannot."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        saved = upgrade_config((ckpt.get("mtlkit") or {}).get("config") or {})
    except Exception:  # noqa: BLE001 - an unreadable checkpoint is refused by check_same_config
        return False, ""

    def length(value: Any) -> float:
        return float("inf") if value in (None, -1) else float(value)

    longer = any(length(_current(cfg, k)) > length(_get(saved, k)) for k in _LENGTH_KEYS if _has(saved, k))
    if not longer:
        return False, ""
    if _get(saved, "scheduler") is not None or _current(cfg, "scheduler") is not None:
        return False, (
            "training longer in place needs a constant learning rate (scheduler=none); this run's schedule spans "
            "its configured length"
        )
    return True, ""
