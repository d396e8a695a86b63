"""Round 2's table of an ``mtlkit-advise`` verdict (experiments/results.md): every arm's macro metric, its paired Δm
with the 95 % interval, the verdict by the interval and by round 2's rule (with the 0.5 % floor), one focus task's
paired gain, the worst task, parameters and fit time.

    python experiments/scripts/r2_verdict_table.py experiments/results/r2_c2/part2/verdict.json --focus pedestrian
    python experiments/scripts/r2_verdict_table.py experiments/results/r2_c3a/n1000_r1/verdict.json --per-task
        # task x arm
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from mtlkit.report.paired import Paired

FLOOR = 0.5


def _paired(d: dict[str, Any] | None) -> Paired | None:
    return None if not d or d.get("mean") is None else Paired.from_record(d)


def _ci(p: Paired | None) -> str:
    return "-" if p is None else f"{p.mean:+.2f} [{p.low:+.2f}, {p.high:+.2f}]"


def table(record: dict[str, Any], focus: str, floor: float = FLOOR) -> str:
    """The markdown table of one verdict.json (the focus column only when some arm has that task)."""
    show_focus = any(focus in arm.get("per_task", {}) for arm in record["arms"])
    header = [
        "arm",
        f"{record['split']} {record['metric']} (macro)",
        "Δm vs separate, % (95 % CI), n",
        "by the interval",
        f"with the {floor:g} % floor",
        f"{focus} gain, %",
        "worst task, %",
        "parameters",
        "fit s",
    ]
    if not show_focus:
        header.remove(f"{focus} gain, %")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    base = record["baseline"]
    blanks = " |" * (len(header) - 4)
    lines.append(
        f"| {base['description']} (baseline) | {base['macro']:.4f} |{blanks} {base['parameters']:,.0f} "
        f"| {base['fit_s']:.0f} |"
    )
    for arm in record["arms"]:
        delta = _paired(arm.get("delta"))
        gains = {t: _paired(v) for t, v in arm.get("per_task", {}).items()}
        defined = {t: p for t, p in gains.items() if p is not None}
        worst = min(defined, key=lambda t: defined[t].mean) if defined else None
        cells = [
            arm["description"],
            f"{arm['macro']:.4f}",
            "-" if delta is None else f"{_ci(delta)}, {delta.n}",
            "-" if delta is None else delta.verdict,
            "-" if delta is None else delta.verdict_at(floor),
            _ci(gains.get(focus)),
            "-" if worst is None else f"{worst} {defined[worst].mean:+.2f}",
            f"{arm['parameters']:,.0f}",
            f"{arm['fit_s']:.0f}",
        ]
        if not show_focus:
            del cells[5]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def per_task_table(record: dict[str, Any]) -> str:
    """Tasks as rows, arms as columns: each arm's paired per-task gain over separate networks, % (95 % CI)."""
    arms = record["arms"]
    header = ["task", "separate: " + record["metric"]] + [arm["name"] for arm in arms]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for task in record["tasks"]:
        base = record["baseline"].get("means", {}).get(task)
        cells = [task, "-" if base is None else f"{base:.4f}"]
        cells += [_ci(_paired(arm.get("per_task", {}).get(task))) for arm in arms]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("verdict", type=Path, help="a verdict.json written by mtlkit-advise")
    parser.add_argument("--focus", default="pedestrian", help="the task whose paired gain gets its own column")
    parser.add_argument("--floor", type=float, default=FLOOR, help="the smallest |Δm| that counts, in %%")
    parser.add_argument("--per-task", action="store_true", help="tasks as rows, each arm's paired gain per task")
    args = parser.parse_args()
    record = json.loads(args.verdict.read_text())
    print(per_task_table(record) if args.per_task else table(record, args.focus, args.floor))


if __name__ == "__main__":
    main()
