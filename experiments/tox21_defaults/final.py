"""The final protocol of PLAN.md: 3 seeds (``seed=s data.seed=s``) x random/scaffold split x three arms run by the
same command line (mtlkit's default, ``approach=classical model=logreg``, ``approach=classical model=rf``). Each run
is timed with ``/usr/bin/time -v`` (wall, peak RSS) under ``nice -n 5``; one row per run goes to results.csv.
Re-running skips the runs already there. ``--summary`` prints the mean ± sd table and the verdict.

    python experiments/tox21_defaults/final.py [--arms default logreg rf] [--summary]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

import rows as run_rows  # this folder's rows.py (the scripts run from here)

HERE = Path(__file__).resolve().parent
CSV = HERE / "results.csv"
FIELDS = ["arm", "split", "seed", "val_auroc_macro", "test_auroc_macro", "best_epoch", "wall_s", "peak_rss_mb"]
ARMS = {"default": [], "logreg": ["approach=classical", "model=logreg"], "rf": ["approach=classical", "model=rf"]}
SPLITS = ("random", "scaffold")
SEEDS = (0, 1, 2)
TARGET = 0.84


def command(arm: str, split: str, seed: int, data_path: str) -> list[str]:
    """The plain command plus the arm, the seeds and the split (and a csv logger, plain logs: no number changes)."""
    extra = ["data.split=scaffold"] if split == "scaffold" else []
    return [
        "mtlkit-train", "data=tox21", f"data.path={data_path}", *ARMS[arm], f"seed={seed}", f"data.seed={seed}",
        *extra, "logger=csv", "callbacks.rich_progress_bar=null",
    ]  # fmt: skip


def read_rows() -> list[dict]:
    return run_rows.read_rows(CSV)


def run_one(arm: str, split: str, seed: int, data_path: str) -> None:
    out = HERE / "outputs" / "final" / f"{arm}_{split}_seed{seed}"
    cmd = [*command(arm, split, seed, data_path), f"hydra.run.dir={out}", "overwrite=true"]
    print(" ".join(cmd), flush=True)
    done = subprocess.run(["nice", "-n", "5", "/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{arm} {split} {seed} failed:\n{done.stderr[-3000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", done.stderr).group(1)
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))
    results = json.loads((out / "results.json").read_text())
    epoch = re.search(r"epoch_(\d+)", results.get("best_checkpoint") or "")
    row = {
        "arm": arm,
        "split": split,
        "seed": seed,
        "val_auroc_macro": round(results["metrics"]["val"]["macro"]["auroc"], 4),
        "test_auroc_macro": round(results["metrics"]["test"]["macro"]["auroc"], 4),
        "best_epoch": f"{int(epoch.group(1)) + 1} of {results['epochs']}" if epoch else "",
        "wall_s": round(sum(float(p) * 60**i for i, p in enumerate(reversed(wall.split(":")))), 1),
        "peak_rss_mb": round(rss_kb / 1024),
    }
    run_rows.append_row(CSV, FIELDS, row)
    print(f"    {row}", flush=True)


def summary() -> None:
    """Mean ± sd of the test macro AUROC per arm and split, and the verdict of PLAN.md's rule."""
    rows = read_rows()
    means: dict[tuple[str, str], float] = {}
    print("| arm | split | test macro AUROC (mean ± sd, n) | val | wall s (mean) | peak RSS MB (max) |")
    print("|---|---|---|---|---:|---:|")
    for arm in ARMS:
        for split in SPLITS:
            got = [r for r in rows if r["arm"] == arm and r["split"] == split]
            if not got:
                continue
            test = [float(r["test_auroc_macro"]) for r in got]
            val = [float(r["val_auroc_macro"]) for r in got]
            sd = statistics.stdev(test) if len(test) > 1 else float("nan")
            means[arm, split] = statistics.mean(test)
            wall = statistics.mean(float(r["wall_s"]) for r in got)
            rss = max(int(r["peak_rss_mb"]) for r in got)
            print(
                f"| {arm} | {split} | {means[arm, split]:.3f} ± {sd:.3f} ({len(test)}) | {statistics.mean(val):.3f} "
                f"| {wall:.0f} | {rss} |"
            )
    if ("default", "random") in means:
        print(verdict(means["default", "random"], {a: means.get((a, "random")) for a in ARMS if a != "default"}))


def verdict(default: float, classical: dict[str, float | None]) -> str:
    """PLAN.md's rule: met if the default's random-split mean is >= TARGET and above every classical arm's mean."""
    shown = ", ".join(f"{a} {'not measured' if m is None else f'{m:.3f}'}" for a, m in classical.items())
    below = [a for a, m in classical.items() if m is not None and m >= default]
    if default < TARGET or below:
        return f"verdict: not met (default {default:.3f}, target >= {TARGET}; {shown})"
    if any(m is None for m in classical.values()):
        return f"verdict: open, an arm is missing (default {default:.3f}; {shown})"
    return f"verdict: met (default {default:.3f}, target >= {TARGET}; {shown})"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-path", default=str(HERE.parents[1].parent / "shared/data/moleculenet/tox21.csv"))
    p.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    p.add_argument("--splits", nargs="+", default=list(SPLITS), choices=SPLITS)
    p.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    p.add_argument("--summary", action="store_true", help="only print the table and the verdict")
    args = p.parse_args()
    if not args.summary:
        have = {(r["arm"], r["split"], int(r["seed"])) for r in read_rows()}
        for split in args.splits:  # the random split first: the verdict needs it
            for arm in args.arms:
                for seed in args.seeds:
                    if (arm, split, seed) not in have:
                        run_one(arm, split, seed, args.data_path)
    summary()


if __name__ == "__main__":
    main()
