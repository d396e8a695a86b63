"""Round 2's C3a reading (experiments/plan.md, "C3a (new): relatedness"): per training-set size, each shared
arm's Δm against separate networks at relatedness 0 and 1, and their difference r=1 minus r=0 paired by seed (seed s
has the same labels, hidden entries and batch order at both relatedness values), with its 95 % interval and the
verdict by round 2's rule (0.5 % floor). Optionally a plot of the differences.

    python experiments/scripts/r2_c3a_difference.py experiments/results/r2_c3a               # every size with r0 and r1
    python experiments/scripts/r2_c3a_difference.py experiments/results/r2_c3a --size 1000   # one size
    python experiments/scripts/r2_c3a_difference.py experiments/results/r2_c3a \
        --plot experiments/results/r2_c3a/difference.png

Reads ROOT/n<size>_r0/verdict.json and ROOT/n<size>_r1/verdict.json (written by mtlkit-advise). The grouped arms
are the affinity's grouping of each call, which need not be the same groups at both relatedness values.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mtlkit.report.paired import Paired, paired

FLOOR = 0.5


@dataclass(frozen=True)
class Row:
    """One arm at one size: its Δm at each relatedness and the paired difference."""

    size: int
    arm: str
    delta_r0: float
    delta_r1: float
    difference: Paired


def sizes(root: Path) -> list[int]:
    """The sizes with a verdict at both relatedness values, ascending."""
    found = {
        int(m.group(1)) for p in root.glob("n*_r0/verdict.json") if (m := re.fullmatch(r"n(\d+)_r0", p.parent.name))
    }
    return sorted(s for s in found if (root / f"n{s}_r1" / "verdict.json").is_file())


def rows(r0: dict[str, Any], r1: dict[str, Any], size: int) -> list[Row]:
    """Every arm present at both relatedness values, its paired difference r1 - r0 over the seeds both have."""
    arms0 = {a["name"]: a for a in r0["arms"]}
    out = []
    for arm in r1["arms"]:
        other = arms0.get(arm["name"])
        if other is None:
            continue
        a, b = other.get("delta_by_seed", {}), arm.get("delta_by_seed", {})
        diffs = [b[s] - a[s] for s in b if s in a and a[s] is not None and b[s] is not None]
        out.append(Row(size, arm["name"], other["delta"]["mean"], arm["delta"]["mean"], paired(diffs)))
    return out


def load(root: Path, size: int) -> list[Row]:
    """The rows of one size from ROOT/n<size>_r{0,1}/verdict.json."""
    r0, r1 = (json.loads((root / f"n{size}_r{r}" / "verdict.json").read_text()) for r in (0, 1))
    return rows(r0, r1, size)


def table(all_rows: list[Row], floor: float = FLOOR) -> str:
    """The markdown table of the rows."""
    lines = [
        "| images | arm | Δm at r=0 (%) | Δm at r=1 (%) | r=1 minus r=0, paired (95 % CI) | by the rule "
        f"({floor:g} % floor) | n |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in all_rows:
        d = r.difference
        lines.append(
            f"| {r.size:,} | {r.arm} | {r.delta_r0:+.2f} | {r.delta_r1:+.2f} | {d.mean:+.2f} [{d.low:+.2f}, "
            f"{d.high:+.2f}] | {d.verdict_at(floor)} | {d.n} |"
        )
    return "\n".join(lines)


def plot(all_rows: list[Row], path: Path, floor: float = FLOOR) -> Path:
    """Each arm's paired difference r1 - r0 with its interval, one marker per size; the floor shaded."""
    from mtlkit.report.plots import DPI, _pyplot

    plt = _pyplot()
    arms = list(dict.fromkeys(r.arm for r in all_rows))
    all_sizes = sorted({r.size for r in all_rows})
    fig, ax = plt.subplots(figsize=(8.0, 0.6 * len(arms) + 1.6))
    ax.axvspan(-floor, floor, color="tab:grey", alpha=0.15, linewidth=0, label=f"|difference| < {floor:g} %")
    ax.axvline(0.0, color="black", linewidth=1)
    step = 0.3 / max(1, len(all_sizes) - 1)
    for k, size in enumerate(all_sizes):
        for r in (r for r in all_rows if r.size == size):
            y = len(arms) - 1 - arms.index(r.arm) + (k - (len(all_sizes) - 1) / 2) * step
            d = r.difference
            ax.errorbar(
                d.mean,
                y,
                xerr=[[d.mean - d.low], [d.high - d.mean]],
                fmt="o",
                capsize=4,
                color=f"C{k}",
                label=f"{size:,} images",
            )
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))  # one legend entry per size
    ax.legend(unique.values(), unique.keys(), loc="best", fontsize=8)
    ax.set_yticks(range(len(arms)), arms[::-1])
    ax.set_xlabel("Δm at relatedness 1 minus Δm at relatedness 0, %, 95 % paired interval")
    ax.set_title("C3a: does relatedness help the shared arms? (> 0: it does)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="the folder with n<size>_r0/ and n<size>_r1/ verdicts")
    parser.add_argument("--size", type=int, help="one training-set size (default: every size with both)")
    parser.add_argument("--plot", type=Path, help="also draw the differences to this PNG")
    parser.add_argument("--floor", type=float, default=FLOOR, help="the smallest difference that counts, in %%")
    args = parser.parse_args()
    found = sizes(args.root)
    chosen = [args.size] if args.size else found
    if not chosen or not set(chosen) <= set(found):
        which = f"n{args.size}" if args.size else "n<size>"
        parser.error(f"no {which}_r0/verdict.json with its {which}_r1/verdict.json under {args.root}: run its part")
    all_rows = [r for s in chosen for r in load(args.root, s)]
    print(table(all_rows, args.floor))
    if args.plot:
        print(f"written: {plot(all_rows, args.plot, args.floor)}", file=sys.stderr)


if __name__ == "__main__":
    main()
