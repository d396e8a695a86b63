"""Hand-made run folders for the mtlkit-report tests: the files mtlkit-train and Hydra write, with chosen metrics."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from mtlkit.evaluation.metrics import METRICS

GROUPS = ("approach", "model", "data", "finetune")  # override keys written as Hydra group choices


def _nested(flat: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in flat.items():
        node = out
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return out


def write_run(
    run_dir: Path,
    overrides: Mapping[str, Any],
    metrics: Mapping[str, Mapping[str, float | None]] | None,
    *,
    split: str = "test",
    status: str | None = None,
    error: str | None = None,
    choices: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    params: int = 1000,
    log: str | None = None,
) -> Path:
    """A run folder: ``.hydra/{config,overrides,hydra}.yaml`` and, unless ``metrics`` is None, ``results.json``.

    ``metrics`` is ``{task: {metric: value}}`` (missing metrics get the auroc value; None = undefined). Overrides
    whose key is a config group (approach=..., finetune=...) are recorded as Hydra group choices, like Hydra does.
    """
    hydra_dir = run_dir / ".hydra"
    hydra_dir.mkdir(parents=True, exist_ok=True)
    lines = [f"{k}={v}" for k, v in overrides.items()]
    (hydra_dir / "overrides.yaml").write_text(yaml.safe_dump(lines))
    group_choices = {"approach": "multitask", "model": "cnn", "data": "driving", **(choices or {})}
    plain = {}
    for k, v in overrides.items():
        if k in GROUPS:
            group_choices[k] = v
        else:
            plain[k] = v
    cfg = _nested({"seed": 0, "loss.unknown": "ignore", **(config or {}), **plain})
    (hydra_dir / "config.yaml").write_text(yaml.safe_dump(cfg))
    hydra_cfg = {"hydra": {"runtime": {"choices": group_choices}, "job": {"num": 0}}}
    (hydra_dir / "hydra.yaml").write_text(yaml.safe_dump(hydra_cfg))
    if log is not None:
        (run_dir / "train.log").write_text(log)
    if metrics is None:
        return run_dir
    per_task = {}
    for task, vals in metrics.items():
        per_task[task] = {m: vals.get(m, vals.get("auroc")) for m in METRICS}
    macro = {}
    for m in METRICS:
        defined = [v[m] for v in per_task.values() if v[m] is not None]
        macro[m] = sum(defined) / len(defined) if defined else None
    results: dict[str, Any] = {
        "schema_version": 1,
        "approach": group_choices["approach"],
        "tasks": list(metrics),
        "seed": overrides.get("seed", 0),
        "metrics": {split: {"per_task": per_task, "macro": macro, "undefined": {}}},
        "parameters": {"total": params, "trainable": params, "trainable_pct": 100.0},
        "timings": {"fit_s": 1.0},
        "overrides": lines,
    }
    if status is not None:
        results["status"] = status
    if error is not None:
        results["error"] = error
    (run_dir / "results.json").write_text(json.dumps(results))
    return run_dir


def write_multirun_yaml(
    sweep_dir: Path, task_overrides: Sequence[str], params: Mapping[str, str] | None = None
) -> None:
    """The ``multirun.yaml`` a basic-sweeper multirun leaves in its sweep folder (only what the report reads)."""
    sweep_dir.mkdir(parents=True, exist_ok=True)
    cfg = {
        "hydra": {
            "sweeper": {
                "_target_": "hydra._internal.core_plugins.basic_sweeper.BasicSweeper",
                "max_batch_size": None,
                "params": dict(params) if params else None,
            },
            "overrides": {"hydra": ["hydra.mode=MULTIRUN"], "task": list(task_overrides)},
        }
    }
    (sweep_dir / "multirun.yaml").write_text(yaml.safe_dump(cfg))


def is_png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def close(a: float, b: float, tol: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=tol, abs_tol=tol)
