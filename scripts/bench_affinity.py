"""Benchmark (not a test): what ``affinity=tag`` costs, as a function of ``affinity.every``.

    python scripts/bench_affinity.py                       # T = 8, every in {1, 5, 10, 20}, 3 rounds
    python scripts/bench_affinity.py --tasks 4 --every 1 10 --rounds 1 --out r.json   # smoke

Each configuration is one ``mtlkit-train`` run in this process (``mtlkit.run.train``: the default CNN at 32x32,
batch 128, 2,560 training scenes = 20 steps per epoch, 2 epochs, the T-task road scenes, logger off) and the figure
is results.json's ``timings.fit_s``; the affinity's own time (``affinity.seconds``) is reported beside it. Side by
side: every round runs every configuration once, in a shuffled order, and the ratio to ``affinity=none`` is taken
within the round; the median over rounds is reported, so the machine's drift cancels. Training itself is the same
in every configuration (the affinity never changes it; ``tests/unit/grouping/test_affinity.py``).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import tempfile
from pathlib import Path

import torch

from mtlkit.config import compose_train
from mtlkit.run import train


def config(tasks: int, every: int | None, out: Path):
    overrides = [
        f"data.num_classes={tasks}",
        "data.num_train=2560",
        "data.num_val=256",
        "data.num_test=256",
        "trainer.max_epochs=2",
        "logger=none",
        "callbacks.rich_progress_bar=null",
        "ckpt_path=null",
    ]
    if every is not None:
        overrides += ["affinity=tag", f"affinity.every={every}"]
    return compose_train(overrides, out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", type=int, default=8)
    p.add_argument("--every", type=int, nargs="+", default=[1, 5, 10, 20])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()
    names: list[int | None] = [None, *args.every]
    rng = random.Random(args.seed)
    fit: dict[str, list[float]] = {str(n): [] for n in names}
    own: dict[str, list[float]] = {str(n): [] for n in names}
    ratios: dict[str, list[float]] = {str(n): [] for n in names if n is not None}
    with tempfile.TemporaryDirectory() as tmp:
        train(config(args.tasks, None, Path(tmp) / "warmup"))  # data generated and cached, imports warm
        for r in range(args.rounds):
            order = list(names)
            rng.shuffle(order)
            this: dict[str, float] = {}
            for every in order:
                res = train(config(args.tasks, every, Path(tmp) / f"r{r}_{every}"))
                this[str(every)] = res["timings"]["fit_s"]
                fit[str(every)].append(res["timings"]["fit_s"])
                own[str(every)].append((res.get("affinity") or {}).get("seconds", 0.0))
            for every in args.every:
                ratios[str(every)].append(this[str(every)] / this["None"])
            print(f"round {r + 1}: " + ", ".join(f"every={k}: {v:.1f} s" for k, v in this.items()), flush=True)
    steps = 40
    rows = []
    for every in names:
        key = str(every)
        row = {
            "affinity": "none" if every is None else f"tag, every={every}",
            "measurements": 0 if every is None else -(-steps // every),
            "fit_s_median": statistics.median(fit[key]),
            "affinity_s_median": statistics.median(own[key]),
            "ratio_to_none_median": None if every is None else statistics.median(ratios[key]),
        }
        rows.append(row)
    print(f"\nT={args.tasks}, {steps} steps, {args.rounds} rounds, torch {torch.__version__}, {platform.processor()}")
    print("| affinity | measurements | fit s (median) | of which affinity s | fit time vs none (median ratio) |")
    print("|---|---|---|---|---|")
    for row in rows:
        ratio = "1" if row["ratio_to_none_median"] is None else f"{row['ratio_to_none_median']:.2f}x"
        print(
            f"| {row['affinity']} | {row['measurements']} | {row['fit_s_median']:.1f} | "
            f"{row['affinity_s_median']:.1f} | {ratio} |"
        )
    if args.out:
        args.out.write_text(json.dumps({"tasks": args.tasks, "rounds": args.rounds, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
