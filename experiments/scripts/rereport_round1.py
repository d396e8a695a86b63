"""Round 1's C1 and C5-C8 under round 2's paired rule (issue 13, item 7), from the reports' committed ``runs.csv``.

Round 1 set ``data.seed=${seed}``, so a configuration and its baseline with the same seed saw the same data and
hidden labels: they can be paired by seed. Its runs are gone and its ``runs.csv`` files keep only macro metrics per
run, so the paired quantity here is the relative difference of the macro metric, ``100 (M_cfg,s - M_base,s) /
M_base,s``, not Δm (the mean of per-task relative gains); the two weight tasks differently. Verdict: the 95 % paired
t interval excludes 0 and |mean| ≥ 0.5 % (round 2's rule).

    python experiments/scripts/rereport_round1.py                # writes experiments/results/round1_paired.{md,csv}
    python experiments/scripts/rereport_round1.py --out /tmp/r1  # elsewhere
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from mtlkit.report.paired import paired

FLOOR = 0.5
NOT_KEYS = {"status", "path", "seed", "error", "experiment"}


@dataclass(frozen=True)
class Spec:
    """One round-1 experiment: which runs are the baseline, and which columns a configuration shares with it."""

    name: str
    baseline: dict[str, str]  # column -> value that marks a baseline run
    match: tuple[str, ...]  # columns that must be equal between a configuration and its baseline
    only: tuple[tuple[str, str], ...] = ()  # keep only the runs with these values (column, value)
    label: str = ""  # how the table names the experiment (default: its name)


SPECS = (
    Spec("c1_partial_labels", {"loss.unknown": "ignore"}, ("data.missing_rate",)),
    Spec("c5_transfer_data_size", {"approach": "multitask"}, ("data.num_train",)),
    Spec("c6_reversed_sizes", {"approach": "multitask"}, ()),
    Spec("c7_finetune_strategies", {"approach": "multitask"}, ("data.num_train",)),
    Spec("c8_unrelated_source", {"approach": "multitask"}, ("data.num_train",)),
    # C7's claim compares strategies with one another: each against full fine-tuning of the same B
    Spec(
        "c7_finetune_strategies",
        {"finetune": "full"},
        ("data.num_train",),
        only=(("approach", "transfer"),),
        label="c7_finetune_strategies (against full)",
    ),
)


def _order(value: str) -> tuple[int, float, str]:
    try:
        return (0, float(value), value)
    except ValueError:
        return (1, 0.0, value)


def _shown(cfg: dict[str, str], varying: set[str]) -> str:
    """The columns that tell configurations apart; ``finetune.k`` only where it means something (last_k)."""
    keep = {k: v for k, v in cfg.items() if k in varying and v != "-"}
    if keep.get("finetune", "last_k") != "last_k":
        keep.pop("finetune.k", None)
    return ", ".join(f"{k}={v}" for k, v in keep.items())


def rows_of(spec: Spec, runs_csv: Path, metric: str) -> list[dict[str, str]]:
    """One row per configuration: its paired relative difference of the macro metric against the baseline."""
    runs = [r for r in csv.DictReader(runs_csv.open()) if r["status"] == "ok"]
    runs = [r for r in runs if all(r.get(k) == v for k, v in spec.only)]
    keys = [k for k in runs[0] if k not in NOT_KEYS and not k.endswith("_macro")]
    groups: dict[tuple[str, ...], dict[str, float]] = defaultdict(dict)
    for r in runs:
        groups[tuple(r[k] for k in keys)][r["seed"]] = float(r[f"{metric}_macro"])
    is_base = {g: all(dict(zip(keys, g)).get(k) == v for k, v in spec.baseline.items()) for g in groups}
    out = []
    varying = {k for i, k in enumerate(keys) if len({g[i] for g in groups}) > 1}
    for group, values in sorted(groups.items(), key=lambda item: [_order(v) for v in item[0]]):
        if is_base[group]:
            continue
        cfg = dict(zip(keys, group))
        bases = [b for b in groups if is_base[b] and all(dict(zip(keys, b))[m] == cfg[m] for m in spec.match)]
        if len(bases) != 1:
            raise SystemExit(f"{spec.name}: {cfg} has {len(bases)} baselines, expected 1: fix its Spec")
        base = groups[bases[0]]
        seeds = sorted(set(values) & set(base))
        p = paired([100.0 * (values[s] - base[s]) / base[s] for s in seeds])
        out.append(
            {
                "experiment": spec.label or spec.name,
                "configuration": _shown(cfg, varying),
                "n": str(p.n),
                "mean": f"{p.mean:+.2f}",
                "low": f"{p.low:+.2f}",
                "high": f"{p.high:+.2f}",
                "verdict": p.verdict_at(FLOOR),
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", type=Path, default=Path("experiments/results"))
    parser.add_argument("--out", type=Path, default=Path("experiments/results"))
    parser.add_argument("--metric", default="auroc")
    args = parser.parse_args()
    rows = [r for s in SPECS for r in rows_of(s, args.experiments / s.name / "runs.csv", args.metric)]
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "round1_paired.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    md = [
        f"# Round 1 under the paired rule ({args.metric}, test)",
        "",
        "Made by `python experiments/scripts/rereport_round1.py` from each experiment's `runs.csv`. "
        "Relative difference of the "
        f"macro {args.metric} against the experiment's baseline (C1: `loss.unknown=ignore` at the same missing rate; "
        "C5-C8: training from scratch on the same B; C7 also against full fine-tuning), paired by seed, "
        "95 % Student-t interval; a difference counts "
        f"when the interval excludes 0 and |mean| ≥ {FLOOR} %.",
        "",
        "| experiment | configuration | n | paired difference, % [95 % CI] | verdict |",
        "|---|---|---:|---|---|",
    ]
    md += [
        f"| {r['experiment']} | {r['configuration']} | {r['n']} | {r['mean']} [{r['low']}, {r['high']}] "
        f"| {r['verdict']} |"
        for r in rows
    ]
    (args.out / "round1_paired.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
