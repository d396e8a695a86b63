"""Find the runs under some folders: finished, failed, and jobs a sweep planned but never started.

A run is a folder holding ``.hydra/config.yaml`` (what Hydra writes before the job starts) or ``results.json``.
It *succeeded* when ``results.json`` exists, parses, and has no ``"status": "failed"``; every other run is
*failed* and keeps the reason. A Hydra multirun folder (``multirun.yaml``) also says which jobs the sweep
planned: those with no run folder at all are *missing*.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mtlkit.errors import DataError
from mtlkit.evaluation.results import RESULTS_FILE

HYDRA_DIR = ".hydra"
MULTIRUN_FILE = "multirun.yaml"
BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"
SKIP_DIRS = {"checkpoints", "wandb", "csv", "__pycache__", ".git"}


class _Missing:
    """A key that a run does not have at all (not in its overrides, group choices or config)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def canonical(value: Any) -> Any:
    """A hashable, comparable form of a config value: numbers (also numeric strings) become floats, so that
    ``0``, ``0.0`` and ``"0"`` are one value; lists and dicts become compact JSON."""
    if value is MISSING:
        return MISSING
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return number if math.isfinite(number) else value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def display(value: Any) -> str:
    """How a canonical value is written in tables and legends."""
    if value is MISSING:
        return "-"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:g}"
    return str(value)


def parse_overrides(lines: Iterable[str]) -> dict[str, Any]:
    """``["a.b=1", "+c=x", "group@pkg=opt"]`` -> ``{"a.b": 1, "c": "x", "group@pkg": "opt"}`` (typed values, via
    Hydra's own override parser; deletions ``~key`` are left out)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    out: dict[str, Any] = {}
    for override in parser.parse_overrides([str(line) for line in lines]):
        if override.is_delete():
            continue
        key = override.key_or_group + (f"@{override.package}" if override.package else "")
        out[key] = override.value()
    return out


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text()) if path.is_file() else None
    except (OSError, yaml.YAMLError):
        return None


def _select(tree: Any, dotted: str) -> Any:
    node = tree
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return MISSING
        node = node[part]
    return node


@dataclass
class Run:
    """One run folder, as read from disk."""

    path: Path
    ok: bool
    overrides: dict[str, Any]
    results: dict[str, Any] | None = None
    error: str | None = None
    config: dict[str, Any] | None = None
    choices: dict[str, Any] = field(default_factory=dict)
    sweep_dir: Path | None = None
    job_num: int | None = None

    def value(self, key: str) -> Any:
        """The canonical value of ``key`` in this run: its override, else its config-group choice, else the
        composed config; :data:`MISSING` where the run has no such key (or the group is not used)."""
        if key in self.overrides:
            return canonical(self.overrides[key])
        if key in self.choices:
            choice = self.choices[key]
            return MISSING if choice is None else canonical(choice)
        if self.config is not None:
            return canonical(_select(self.config, key))
        return MISSING

    @property
    def tasks(self) -> list[str]:
        return list((self.results or {}).get("tasks") or [])


def _error_text(error: object) -> str:
    """``Type: message`` of the error record a failed job writes (a dict), or the text as it is."""
    if isinstance(error, dict):
        return f"{error.get('type', 'Error')}: {error.get('message', '')}".strip()
    return str(error) if error else "no error message in results.json"


def _failure_reason(run_dir: Path, results: dict[str, Any] | None, problem: str | None) -> str:
    if problem:
        return problem
    if results is not None:
        return f"job failed: {_error_text(results.get('error'))}"
    reason = f"no {RESULTS_FILE} (the job failed, was killed, or is still running)"
    for log in sorted(run_dir.glob("*.log")):
        lines = [ln.strip() for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
        errors = [ln for ln in lines if "Error" in ln or "Exception" in ln]
        if errors:
            return f"{reason}; {log.name}: {errors[-1][:300]}"
    return reason


def read_run(run_dir: Path, sweep_dir: Path | None = None) -> Run:
    """Read one run folder (see the module docstring for what counts as success)."""
    hydra_dir = run_dir / HYDRA_DIR
    config = _read_yaml(hydra_dir / "config.yaml")
    hydra_cfg = _read_yaml(hydra_dir / "hydra.yaml") or {}
    choices = _select(hydra_cfg, "hydra.runtime.choices") if isinstance(hydra_cfg, Mapping) else {}
    choices = dict(choices) if isinstance(choices, Mapping) else {}  # none: a run with results.json alone
    choices = {k: v for k, v in choices.items() if not k.startswith("hydra/")}
    job_num = _select(hydra_cfg, "hydra.job.num")

    results: dict[str, Any] | None = None
    problem: str | None = None
    results_path = run_dir / RESULTS_FILE
    if results_path.is_file():
        try:
            results = json.loads(results_path.read_text())
            if not isinstance(results, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as err:
            results, problem = None, f"unreadable {RESULTS_FILE}: {err}"

    override_lines = _read_yaml(hydra_dir / "overrides.yaml")
    if not isinstance(override_lines, list):
        override_lines = (results or {}).get("overrides") or []
    try:
        overrides = parse_overrides(override_lines)
    except Exception as err:  # an override Hydra itself cannot parse: keep the run, say why
        overrides, problem = {}, problem or f"unparsable overrides {override_lines}: {err}"

    ok = results is not None and results.get("status", "ok") != "failed" and problem is None
    return Run(
        path=run_dir,
        ok=ok,
        overrides=overrides,
        results=results,
        error=None if ok else _failure_reason(run_dir, results, problem),
        config=config if isinstance(config, dict) else None,
        choices=choices,
        sweep_dir=sweep_dir,
        job_num=job_num if isinstance(job_num, int) else None,
    )


@dataclass
class MissingJob:
    """A job that a multirun planned but that left no run folder."""

    sweep_dir: Path
    overrides: dict[str, Any]


@dataclass
class Collection:
    runs: list[Run]
    missing: list[MissingJob]
    notes: list[str]

    @property
    def succeeded(self) -> list[Run]:
        return [r for r in self.runs if r.ok]

    @property
    def failed(self) -> list[Run]:
        return [r for r in self.runs if not r.ok]


def planned_jobs(multirun_yaml: Path) -> list[dict[str, Any]] | None:
    """The jobs a basic-sweeper multirun planned (its ``hydra.sweeper.params`` and command-line sweeps, as a
    cartesian product); ``None`` when the sweeper is another plugin (Optuna, ...) whose jobs cannot be known."""
    cfg = _read_yaml(multirun_yaml) or {}
    if _select(cfg, "hydra.sweeper._target_") != BASIC_SWEEPER:
        return None
    params = _select(cfg, "hydra.sweeper.params")
    task = _select(cfg, "hydra.overrides.task")
    return sweep_jobs(params if isinstance(params, Mapping) else {}, task if isinstance(task, list) else [])


def sweep_jobs(params: Mapping[str, Any], task_overrides: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The jobs Hydra's basic sweeper makes of ``hydra.sweeper.params`` and command-line overrides (these win)."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    lines = [f"{k}={v}" for k, v in params.items()] + [str(x) for x in task_overrides]
    parsed = OverridesParser.create().parse_overrides(lines)
    return [parse_overrides(job) for job in BasicSweeper.split_arguments(parsed, None)[0]]


def _same_job(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return a.keys() == b.keys() and all(canonical(a[k]) == canonical(b[k]) for k in a)


def find_runs(dirs: Sequence[str | Path]) -> Collection:
    """Every run under ``dirs`` (searched recursively), and the jobs of each multirun that never started."""
    runs: list[Run] = []
    missing: list[MissingJob] = []
    notes: list[str] = []
    seen: set[Path] = set()
    for top in dirs:
        top = Path(top)
        if not top.is_dir():
            raise DataError(f"{top} is not a folder; pass run or multirun folders (e.g. outputs/train/multiruns/...)")
        for root, subdirs, files in os.walk(top):
            here = Path(root).resolve()
            subdirs[:] = sorted(d for d in subdirs if d not in SKIP_DIRS and d != HYDRA_DIR)
            if here in seen:
                continue
            is_run = (here / HYDRA_DIR / "config.yaml").is_file() or RESULTS_FILE in files
            if is_run:
                seen.add(here)
                sweep = _sweep_dir_of(here, top)
                runs.append(read_run(shown(here), sweep_dir=shown(sweep) if sweep else None))
    for sweep_dir in sorted({r.sweep_dir for r in runs if r.sweep_dir is not None} | _sweeps_without_runs(dirs)):
        plan = planned_jobs(sweep_dir / MULTIRUN_FILE)
        if plan is None:
            notes.append(f"{sweep_dir}: not a basic-sweeper multirun, so jobs that never started cannot be listed")
            continue
        present = [r.overrides for r in runs if r.sweep_dir == sweep_dir]
        missing += [MissingJob(sweep_dir, job) for job in plan if not any(_same_job(job, p) for p in present)]
    return Collection(runs=runs, missing=missing, notes=notes)


def shown(path: Path) -> Path:
    """``path`` relative to the working directory when it lies below it (tables stay short and portable)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path.resolve()


def _sweep_dir_of(run_dir: Path, top: Path) -> Path | None:
    """The nearest folder above ``run_dir`` (up to the parent of ``top``) that holds ``multirun.yaml``."""
    limit = top.resolve().parent
    for parent in run_dir.parents:
        if (parent / MULTIRUN_FILE).is_file():
            return parent
        if parent == limit:
            break
    return None


def _sweeps_without_runs(dirs: Sequence[str | Path]) -> set[Path]:
    """Multirun folders under ``dirs``: a sweep that died before its first job still has planned jobs."""
    return {shown(p.parent) for d in dirs for p in Path(d).rglob(MULTIRUN_FILE)}
