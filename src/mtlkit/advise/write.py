"""The verdict as a terminal table, ``verdict.md`` and ``verdict.json``."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mtlkit.advise.plot import plot_verdict
from mtlkit.advise.verdict import ArmResult, Verdict
from mtlkit.errors import MtlkitError
from mtlkit.report.delta import LOWER_IS_BETTER
from mtlkit.report.paired import Paired


def _num(x: float, digits: int = 3) -> str:
    return "-" if math.isnan(x) else f"{x:.{digits}f}"


def _delta(p: Paired) -> str:
    if math.isnan(p.mean):
        return "-"
    if p.n < 2:
        return f"{p.mean:+.2f} (n={p.n})"
    return f"{p.mean:+.2f} ± {p.half_width:.2f}"


def _params(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:,.0f}"


def overall_rows(verdict: Verdict) -> tuple[list[str], list[list[str]]]:
    """One row per approach: macro metric, Δm vs separate (95 % CI half-width), verdict, worst task, cost."""
    header = [
        "approach",
        f"{verdict.metric} (macro)",
        "Δm % vs separate",
        "verdict",
        "worst task (%)",
        "parameters",
        "fit s",
        "seeds",
    ]
    rows = []
    for arm in [verdict.baseline, *verdict.arms]:
        worst = arm.worst_task
        is_base = arm is verdict.baseline
        rows.append(
            [
                arm.description,
                _num(arm.macro),
                "baseline" if is_base else _delta(arm.delta),
                "" if is_base else verdict.verdict_of(arm.delta),
                "" if is_base or worst is None else f"{worst[0]} ({worst[1]:+.2f})",
                _params(arm.parameters),
                _num(arm.fit_s, 1),
                str(len(arm.seeds)),
            ]
        )
    return header, rows


def task_rows(verdict: Verdict) -> tuple[list[str], list[list[str]]]:
    """One row per task: the metric of each approach (mean over seeds), the best one, and its paired verdict."""
    arms: list[ArmResult] = [verdict.baseline, *verdict.arms]
    header = ["task", *[a.name for a in arms], "best", "best vs separate (%)"]
    rows = []
    lower = verdict.metric in LOWER_IS_BETTER
    for task in verdict.tasks:
        values = [a.means.get(task, math.nan) for a in arms]
        defined = [(v, a) for v, a in zip(values, arms) if not math.isnan(v)]
        best = (min if lower else max)(defined, key=lambda x: x[0])[1] if defined else None
        if best is None:
            cell = "-"
        elif best is verdict.baseline:
            cell = "separate is best"
        else:
            p = best.per_task[task]
            cell = f"{_delta(p)} ({verdict.verdict_of(p)})"
        rows.append([task, *[_num(v) for v in values], best.name if best else "-", cell])
    return header, rows


def print_verdict(verdict: Verdict, console: Console) -> None:
    for title, (header, rows) in (
        (f"approaches vs separate networks ({verdict.split} {verdict.metric}, paired by seed)", overall_rows(verdict)),
        (f"per task ({verdict.split} {verdict.metric}, mean over seeds)", task_rows(verdict)),
    ):
        table = Table(title=title)
        for column in header:
            table.add_column(column)
        for row in rows:
            table.add_row(*row)
        console.print(table)
    for problem in verdict.problems:
        console.print(f"[yellow]missing: {escape(problem)}", highlight=False, soft_wrap=True)
    console.print(f"[bold]verdict:[/bold] {escape(verdict.recommendation)}", highlight=False, soft_wrap=True)


def _markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def write_verdict(verdict: Verdict, out: Path, extra: dict[str, Any]) -> list[Path]:
    """``verdict.md`` (the sentence, the picture, both tables, what is missing, how it was computed), ``verdict.json``
    and ``verdict.png`` (:func:`mtlkit.advise.plot.plot_verdict`)."""
    from mtlkit.advise import verdict as rule

    md = [
        "# mtlkit-advise: share one network, group, transfer, or train separately?",
        "",
        f"**Verdict:** {verdict.recommendation}",
        "",
        "## Approaches against separate networks",
        "",
        _markdown(*overall_rows(verdict)),
        "",
        "## Per task",
        "",
        _markdown(*task_rows(verdict)),
        "",
    ]
    if verdict.problems:
        md += ["## Missing or failed runs", "", *[f"- {p}" for p in verdict.problems], ""]
    md += ["## How this was computed", "", (rule.__doc__ or "").strip(), ""]
    if extra.get("grouping"):
        md += [
            "## The grouping",
            "",
            f"From the task affinity of `{extra['grouping'].get('source')}`: "
            f"{extra['grouping'].get('groups')} (score {extra['grouping'].get('score')}).",
            "",
        ]

    def arm_record(arm: ArmResult) -> dict[str, Any]:
        d = asdict(arm)
        d["verdict"] = "baseline" if arm is verdict.baseline else verdict.verdict_of(arm.delta)
        return d

    record = {
        "metric": verdict.metric,
        "split": verdict.split,
        "tasks": verdict.tasks,
        "recommended": verdict.recommended,
        "recommendation": verdict.recommendation,
        "baseline": arm_record(verdict.baseline),
        "arms": [arm_record(a) for a in verdict.arms],
        "problems": verdict.problems,
        "min_effect": verdict.min_effect,
        **extra,
    }
    text = json.dumps(record, indent=2, default=str).replace("NaN", "null")
    (out / "verdict.json").write_text(text)
    written = [out / "verdict.md", out / "verdict.json"]
    try:
        picture = plot_verdict(json.loads(text), out / "verdict.png", floor=verdict.min_effect)
    except MtlkitError as err:  # matplotlib missing: the tables still stand
        picture, md = None, [*md, f"(No verdict.png: {err}.)", ""]
    if picture is not None:
        md[4:4] = ["![each approach's Δm and per-task gains against separate networks](verdict.png)", ""]
        written.append(picture)
    (out / "verdict.md").write_text("\n".join(md))
    return written
