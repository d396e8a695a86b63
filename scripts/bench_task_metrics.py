"""Time one epoch's metric computation (MaskedMultilabelMetrics.compute: per-task and example-based metrics) on a
ToxCast-shaped split, and, with --ref COMMIT, the same computation of that commit's src/mtlkit/evaluation (read with
``git show``), checking that both give the same values.

    python scripts/bench_task_metrics.py --ref 7972df9          # ToxCast's validation split: 859 x 617, 71 % "?"
    python scripts/bench_task_metrics.py --n 853 --tasks 12 --missing 0.17
"""

from __future__ import annotations

import argparse
import importlib
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import mtlkit  # noqa: F401  (torchvision shim before torchmetrics)
from mtlkit.evaluation.example_metrics import EXAMPLE_METRICS
from mtlkit.evaluation.metrics import METRICS, MaskedMultilabelMetrics


def _reference(commit: str) -> type:
    """That commit's MaskedMultilabelMetrics, its evaluation modules under another package name."""
    root = Path(tempfile.mkdtemp()) / "ref_evaluation"
    root.mkdir()
    (root / "__init__.py").write_text("")
    for name in ("metrics", "example_metrics", "thresholds"):
        text = subprocess.run(
            ["git", "show", f"{commit}:src/mtlkit/evaluation/{name}.py"], capture_output=True, text=True, check=True
        ).stdout
        (root / f"{name}.py").write_text(text.replace("mtlkit.evaluation.", "ref_evaluation."))
    sys.path.insert(0, str(root.parent))
    return importlib.import_module("ref_evaluation.metrics").MaskedMultilabelMetrics


def _time(cls: type, tasks: list[str], probs, y, mask, repeats: int) -> tuple[float, dict]:
    best, res = math.inf, {}
    for _ in range(repeats):
        metric = cls(tasks)  # fresh each time: torchmetrics caches compute()
        metric.update(probs, y, mask)
        start = time.perf_counter()
        res = metric.compute()
        best = min(best, time.perf_counter() - start)
    return best, res


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=859, help="examples (ToxCast's validation split: 859)")
    parser.add_argument("--tasks", type=int, default=617)
    parser.add_argument("--missing", type=float, default=0.71)
    parser.add_argument("--positive", type=float, default=0.1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ref", help="a commit whose evaluation code to time and compare against")
    args = parser.parse_args()
    g = torch.Generator().manual_seed(0)
    probs = torch.rand(args.n, args.tasks, generator=g)
    mask = torch.rand(args.n, args.tasks, generator=g) >= args.missing
    y = (torch.rand(args.n, args.tasks, generator=g) < args.positive).float() * mask
    tasks = [f"t{j}" for j in range(args.tasks)]
    now, res = _time(MaskedMultilabelMetrics, tasks, probs, y, mask, args.repeats)
    print(f"{args.n} x {args.tasks}, {args.missing:.0%} missing: compute {now:.3f} s (best of {args.repeats})")
    if args.ref:
        then, old = _time(_reference(args.ref), tasks, probs, y, mask, args.repeats)
        diff = max(
            (abs(res["per_task"][t][m] - old["per_task"][t][m]) for t in tasks for m in METRICS),
            key=lambda d: -1 if math.isnan(d) else d,
        )
        same_nan = all(
            math.isnan(res["per_task"][t][m]) == math.isnan(old["per_task"][t][m]) for t in tasks for m in METRICS
        )
        ex = max(abs(res["example_based"][m] - old["example_based"][m]) for m in EXAMPLE_METRICS)
        print(f"{args.ref}: compute {then:.3f} s (best of {args.repeats}); ratio {then / now:.1f}")
        print(f"max |difference|: per task {diff:.2g} (same undefined tasks: {same_nan}), example-based {ex:.2g}")


if __name__ == "__main__":
    main()
