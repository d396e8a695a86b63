"""What ``mtlkit-advise`` runs: the arms (separate networks, one shared network, the same with a balancing method,
the grouping the task affinity recommends, transfer when a source is given), each at N seeds, and where."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mtlkit.errors import ConfigError

PLAN_FILE = "advise.json"


@dataclass(frozen=True)
class Arm:
    """One approach to compare: a name (its folder), a description for the verdict, its train overrides."""

    name: str
    description: str
    overrides: tuple[str, ...]


@dataclass
class Plan:
    """Everything that decides the runs; a second ``mtlkit-advise`` into the same folder must match it."""

    data_overrides: list[str]
    seeds: list[int]
    balancing: str | None
    transfer: list[str]
    affinity_every: int
    k: int | None
    metric: str
    split: str
    arms: list[dict[str, Any]] = field(default_factory=list)

    def key(self) -> dict[str, Any]:
        """The parts that decide what the runs compute (not the verdict's metric or split)."""
        d = asdict(self)
        return {k: d[k] for k in ("data_overrides", "balancing", "transfer", "affinity_every", "k")}


def base_arms(balancing: str | None, transfer: Sequence[str]) -> list[Arm]:
    """The arms that need no affinity: separate, shared, shared + balancing, transfer."""
    arms = [
        Arm("separate", "separate networks", ("approach=separate",)),
        Arm("shared", "one shared network", ("approach=multitask",)),
    ]
    if balancing:
        arms.append(
            Arm(
                f"shared_{balancing}",
                f"one shared network with weighting={balancing}",
                ("approach=multitask", f"weighting={balancing}"),
            )
        )
    if transfer:
        arms.append(Arm("transfer", "transfer (" + " ".join(transfer) + ")", ("approach=transfer", *transfer)))
    return arms


def grouped_arm(groups: Sequence[Sequence[str]]) -> Arm:
    """The arm that trains ``groups`` with approach=grouped."""
    text = "[" + ",".join("[" + ",".join(g) + "]" for g in groups) + "]"
    shown = " + ".join("{" + ", ".join(g) + "}" for g in groups)
    return Arm("grouped", f"grouped networks {shown}", ("approach=grouped", f"approach.groups={text}"))


def run_dir(out: Path, arm: str, seed: int) -> Path:
    """Where the run of ``arm`` at ``seed`` lives."""
    return out / "runs" / arm / f"seed{seed}"


def check_or_write_plan(out: Path, plan: Plan) -> None:
    """Write the plan into a new folder; in a folder of an earlier advise, refuse one that would compute other
    runs (its finished runs are reused only when they are the same runs)."""
    path = out / PLAN_FILE
    if path.is_file():
        try:
            before = json.loads(path.read_text())
        except ValueError as err:
            raise ConfigError(f"{path} is unreadable ({err}); choose another --out") from err
        old = {k: before.get(k) for k in plan.key()}
        if old != plan.key():
            changed = sorted(k for k in plan.key() if old.get(k) != plan.key()[k])
            raise ConfigError(
                f"{out} holds an mtlkit-advise run with other settings ({', '.join(changed)}): its runs would not "
                "be comparable; choose another --out (nothing was changed)"
            )
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(plan), indent=2))
