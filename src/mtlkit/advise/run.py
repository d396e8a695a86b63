"""``advise(...)``: what ``mtlkit-advise`` does, in order.

1. A multitask run with ``affinity=tag`` (seed 0, in ``<out>/affinity``) measures which tasks help each other;
   the best grouping into 2 .. T-1 networks (or ``k``) becomes the grouped arm.
2. Every arm at every seed (``<out>/runs/<arm>/seed<N>``), one ``mtlkit-train`` job each, the same data and
   budget for all; finished runs in the folder are reused.
3. The verdict (:mod:`mtlkit.advise.verdict`) printed and written (verdict.md, verdict.json), and the full
   ``mtlkit-report`` of the runs in ``<out>/report``.

Only one advise writes into a folder at a time (:mod:`mtlkit.runtime.folder_lock`): a second is refused. Ctrl-C
stops the running job and raises :class:`mtlkit.advise.jobs.JobsInterrupted`; the same command resumes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mtlkit.advise.jobs import Job, Runner, finished
from mtlkit.advise.plan import Arm, Plan, base_arms, budget_arms, check_or_write_plan, grouped_arm, run_dir
from mtlkit.advise.verdict import Verdict, build_verdict
from mtlkit.advise.write import print_verdict, write_verdict
from mtlkit.console import get_console
from mtlkit.errors import ConfigError
from mtlkit.runtime.atomic_write import atomic_write_text
from mtlkit.runtime.folder_lock import lock_folder


def choose_grouping(affinity_dir: Path, k: int | None) -> dict[str, Any] | None:
    """The grouping for the grouped arm from the affinity run's results.json: the best for ``k``, or the best
    over k = 2 .. T-1 (k = 1 and k = T are the shared and separate arms); None when T < 3."""
    results = json.loads((affinity_dir / "results.json").read_text())
    groupings = results.get("groupings") or []
    tasks = results.get("tasks") or []
    if k is not None:
        chosen = [g for g in groupings if g["k"] == k]
        if not chosen:
            raise ConfigError(f"--k {k}: the affinity run proposes groupings for k in {[g['k'] for g in groupings]}")
        return chosen[0]
    middle = [g for g in groupings if 2 <= g["k"] <= len(tasks) - 1]
    return max(middle, key=lambda g: (g["score"], -g["k"])) if middle else None


def advise(plan: Plan, out: Path, min_effect: float = 0.0) -> Verdict:
    """Run the plan into ``out`` (see the module docstring) and return the verdict; ``min_effect`` (%) is the
    smallest |Δm| the verdict counts (not part of the plan: the same runs can be re-judged with another one)."""
    console = get_console()
    lock_folder(out, "mtlkit-advise", elsewhere="another --out")  # one advise per folder (its jobs lock their own)
    check_or_write_plan(out, plan)
    seeds = plan.seeds
    runner = Runner(1 + (len(base_arms(plan.balancing, plan.transfer)) + 1) * len(seeds))
    console.print(
        f"mtlkit-advise into {out}: one affinity run, then every approach at {len(seeds)} seeds "
        f"(budget: {plan.budget}, {plan.epochs} epochs per separate network); a progress line per job"
    )
    common = [*plan.data_overrides, f"trainer.max_epochs={plan.epochs}"]
    affinity_dir = out / "affinity"
    affinity_overrides = [
        *common,
        "approach=multitask",
        "affinity=tag",
        f"affinity.every={plan.affinity_every}",
        "seed=0",
    ]
    grouping, tasks = None, None
    if runner.run(Job("task affinity (shared network, affinity=tag)", affinity_overrides, affinity_dir)):
        grouping = choose_grouping(affinity_dir, plan.k)
        tasks = len(json.loads((affinity_dir / "results.json").read_text()).get("tasks") or [])
    arms = base_arms(plan.balancing, plan.transfer, tasks)
    if grouping is not None:
        console.print(f"grouping from the task affinity: {grouping['groups']} (score {grouping['score']:+.3g})")
        arms = [*arms[:2], grouped_arm(grouping["groups"]), *arms[2:]]
    else:
        console.print(
            "[yellow]no grouped arm: "
            + ("fewer than 3 tasks" if finished(affinity_dir) else f"the affinity run failed (see {affinity_dir})")
        )
    if tasks is None and plan.budget != "steps":
        console.print("[yellow]the number of tasks is unknown (the affinity run failed): every arm at equal steps")
    all_arms: list[Arm] = budget_arms(arms, tasks or 1, plan.epochs, plan.budget if tasks else "steps")
    common = list(plan.data_overrides)  # each arm sets its own trainer.max_epochs
    runner.total = 1 + len(all_arms) * len(seeds)
    for seed in seeds:
        for arm in all_arms:
            runner.run(
                Job(f"{arm.name} seed={seed}", [*common, *arm.overrides, f"seed={seed}"], run_dir(out, arm.name, seed))
            )
    plan.arms = [{"name": a.name, "description": a.description, "overrides": list(a.overrides)} for a in all_arms]
    atomic_write_text(
        out / "advise.json", json.dumps({**json.loads((out / "advise.json").read_text()), "arms": plan.arms}, indent=2)
    )
    verdict = build_verdict(
        [(a.name, a.description, {s: run_dir(out, a.name, s) for s in seeds}) for a in all_arms],
        plan.metric,
        plan.split,
        min_effect,
    )
    print_verdict(verdict, console)
    extra = {"grouping": {"source": str(affinity_dir), **grouping} if grouping else None, "plan": plan.key()}
    written = write_verdict(verdict, out, extra)
    written += write_full_report(out, plan)
    console.print("written: " + ", ".join(str(p) for p in written), highlight=False, soft_wrap=True)
    return verdict


def write_full_report(out: Path, plan: Plan) -> list[Path]:
    """``mtlkit-report`` of the runs (tables and plots, Δm against separate networks) in ``<out>/report``."""
    from mtlkit.report.build import Options, build_report
    from mtlkit.report.delta import DEFAULT_BASELINE, BaselineSpec
    from mtlkit.report.write import write_report

    try:
        baseline = BaselineSpec.parse(
            DEFAULT_BASELINE, ignore=["weighting", "approach.groups"]
        )  # every arm vs separate
        report = build_report([out / "runs"], Options(split=plan.split, metric=plan.metric, baseline=baseline))
        return list(write_report(report, out / "report", [], "mtlkit-advise runs", []))
    except Exception as err:  # the verdict stands without the full report; say why it is absent
        get_console().print(f"[yellow]note: the full report was not written ({err})")
        return []
