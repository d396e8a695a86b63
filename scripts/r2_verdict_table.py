"""Round 2's table of an ``mtlkit-advise`` verdict (docs/results.md): every arm's macro metric, its paired Δm with
the 95 % interval, the verdict by the interval and by round 2's rule (with the 0.5 % floor), one focus task's paired
gain, the worst task, parameters and fit time.

    python scripts/r2_verdict_table.py docs/experiments/r2_c2/part2/verdict.json --focus pedestrian
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from mtlkit.report.paired import Paired

FLOOR = 0.5


def _paired(d: dict[str, Any] | None) -> Paired | None:
    if not d or d.get("mean") is None:
        return None
    def num(key: str) -> float:  # null in verdict.json (too few pairs) is NaN; a real 0.0 stays 0.0
        return float("nan") if d.get(key) is None else float(d[key])

    return Paired(d["mean"], num("low"), num("high"), int(d.get("n") or 0), num("std"))


def _ci(p: Paired | None) -> str:
    return "-" if p is None else f"{p.mean:+.2f} [{p.low:+.2f}, {p.high:+.2f}]"


def table(record: dict[str, Any], focus: str, floor: float = FLOOR) -> str:
    """The markdown table of one verdict.json."""
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
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    base = record["baseline"]
    lines.append(
        f"| {base['description']} (baseline) | {base['macro']:.4f} | | | | | | {base['parameters']:,.0f} "
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
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("verdict", type=Path, help="a verdict.json written by mtlkit-advise")
    parser.add_argument("--focus", default="pedestrian", help="the task whose paired gain gets its own column")
    parser.add_argument("--floor", type=float, default=FLOOR, help="the smallest |Δm| that counts, in %%")
    args = parser.parse_args()
    print(table(json.loads(args.verdict.read_text()), args.focus, args.floor))


if __name__ == "__main__":
    main()
