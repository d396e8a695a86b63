"""What ``mtlkit-advise`` runs: the arms (separate networks, one shared network, the same with a balancing method,
the grouping the task affinity recommends, transfer when a source is given), each at N seeds, and where."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mtlkit.errors import ConfigError
from mtlkit.runtime.atomic_write import atomic_write_text

PLAN_FILE = "advise.json"


BUDGETS = ("steps", "compute", "both")


@dataclass(frozen=True)
class Arm:
    """One approach to compare: a name (its folder), a description for the verdict, its train overrides, and how
    many networks it trains (None: not rescaled for equal compute, e.g. transfer)."""

    name: str
    description: str
    overrides: tuple[str, ...]
    networks: int | None = 1

    def at(self, epochs: int, factor: int = 1) -> Arm:
        """This arm trained ``epochs * factor`` epochs (a factor above 1 is named: ``shared_x8``)."""
        name = self.name if factor == 1 else f"{self.name}_x{factor}"
        description = self.description if factor == 1 else f"{self.description}, {factor}x the epochs (equal compute)"
        return Arm(name, description, (*self.overrides, f"trainer.max_epochs={epochs * factor}"), self.networks)


def budget_arms(arms: Sequence[Arm], tasks: int, epochs: int, budget: str) -> list[Arm]:
    """The arms at the budget: ``steps``, every network trains ``epochs`` (separate networks then use T times the
    compute of one shared network); ``compute``, every arm trains T network-epochs per epoch of a separate network
    (a shared network ``T x epochs``, a grouping into G networks ``round(T / G) x epochs``); ``both``."""
    if budget not in BUDGETS:
        raise ConfigError(f"--budget {budget!r}: choose one of {', '.join(BUDGETS)}")

    def factor(arm: Arm) -> int:
        return max(1, round(tasks / arm.networks)) if arm.networks else 1

    steps = [a.at(epochs) for a in arms]
    if budget == "steps":
        return steps
    if budget == "compute":
        return [a.at(epochs, factor(a)) for a in arms]
    return [*steps, *[a.at(epochs, factor(a)) for a in arms if factor(a) > 1]]


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
    epochs: int = 1
    budget: str = "steps"
    arms: list[dict[str, Any]] = field(default_factory=list)

    def key(self) -> dict[str, Any]:
        """The parts that decide what the runs compute (not the verdict's metric or split, nor the budget: its
        arms are named by their epochs factor, so steps and compute runs live side by side)."""
        d = asdict(self)
        return {k: d[k] for k in ("data_overrides", "balancing", "transfer", "affinity_every", "k", "epochs")}


def balancing_methods(balancing: str | None) -> list[str]:
    """The ``--balancing`` methods: one weighting name, several separated by commas, or none."""
    return [m.strip() for m in (balancing or "").split(",") if m.strip() not in ("", "none", "null")]


def base_arms(balancing: str | None, transfer: Sequence[str], tasks: int | None = None) -> list[Arm]:
    """The arms that need no affinity: separate (``tasks`` networks), shared, shared + each balancing method,
    transfer."""
    arms = [
        Arm("separate", "separate networks", ("approach=separate",), tasks),
        Arm("shared", "one shared network", ("approach=multitask",)),
    ]
    for method in balancing_methods(balancing):
        arms.append(
            Arm(
                f"shared_{method}",
                f"one shared network with weighting={method}",
                ("approach=multitask", f"weighting={method}"),
            )
        )
    if transfer:
        arms.append(Arm("transfer", "transfer (" + " ".join(transfer) + ")", ("approach=transfer", *transfer), None))
    return arms


def grouped_arm(groups: Sequence[Sequence[str]]) -> Arm:
    """The arm that trains ``groups`` with approach=grouped."""
    text = "[" + ",".join("[" + ",".join(g) + "]" for g in groups) + "]"
    shown = " + ".join("{" + ", ".join(g) + "}" for g in groups)
    return Arm("grouped", f"grouped networks {shown}", ("approach=grouped", f"approach.groups={text}"), len(groups))


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
    atomic_write_text(path, json.dumps(asdict(plan), indent=2))
