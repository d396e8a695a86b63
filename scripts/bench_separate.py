"""Benchmark (not a test): what approach=separate costs against T single-task runs and one multitask network.

    python scripts/bench_separate.py                 # step times for T = 4 and 8, plus end-to-end CLI runs (T = 4)
    python scripts/bench_separate.py --quick         # smaller, for a smoke check (about a minute)
    python scripts/bench_separate.py --no-cli        # step times only

Step time: forward + masked loss + backward + AdamW step on one batch (CNN width 32, depth 4, 32x32 images,
batch 128), median over ``--steps`` steps after warm-up, in one process:
  - multitask: one shared backbone, T heads;
  - separate: the T networks of approach=separate (mtlkit.models.separate), one step for all of them;
  - T single-task: one network per task, stepped one after the other (T x the step of one network);
  - fused grouped-conv: the same T networks as ONE conv net whose convolutions use groups=T (the alternative
    implementation mtlkit did not take; shown so the choice can be re-checked on other hardware, e.g. a GPU).
End to end (``--cli``): wall time of ``mtlkit-train approach=separate`` against T runs of
``mtlkit-train data.tasks=[task]`` with the same small config, each a fresh process as a user would run them
(process start, data loading, training and evaluation included).

Prints markdown tables (paste them into docs/benchmarks.md with the command and the machine).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from mtlkit.models.backbones.cnn import CNN
from mtlkit.models.heads import TaskHeads
from mtlkit.models.separate import SeparateBackbones
from mtlkit.objective.masked_bce import masked_bce, masked_bce_per_task

SHAPE = (3, 32, 32)


class GroupedCNN(nn.Module):
    """T copies of ``CNN(width, depth)`` fused into one network: the first conv maps 3 -> T*C channels, later
    convs use ``groups=T``, BatchNorm runs over T*C channels (per channel, hence per network)."""

    def __init__(self, tasks: int, width: int, depth: int, size: int = 32):
        super().__init__()
        layers: list[nn.Module] = []
        channels, first = 3, True
        for i in range(depth):
            out = width * min(2 ** (i // 2), 8)
            c_in = channels if first else channels * tasks
            layers += [
                nn.Conv2d(c_in, out * tasks, 3, padding=1, bias=False, groups=1 if first else tasks),
                nn.BatchNorm2d(out * tasks),
                nn.ReLU(inplace=True),
            ]
            if size >= 8:
                layers.append(nn.MaxPool2d(2))
                size //= 2
            channels, first = out, False
        self.net = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.tasks, self.feature_dim = tasks, channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(len(x), self.tasks, self.feature_dim)


def _params(*modules: nn.Module) -> int:
    return sum(p.numel() for m in modules for p in m.parameters())


def _step_time(forward, params, batch, per_task: bool, steps: int) -> float:
    opt = torch.optim.AdamW(params, lr=1e-3)
    loss_fn = masked_bce_per_task if per_task else masked_bce

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss_fn(forward(batch["x"]), batch["y"], batch["mask"]).backward()
        opt.step()

    for _ in range(3):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_steps(tasks: int, width: int, batch_size: int, steps: int) -> list[dict]:
    torch.manual_seed(0)
    names = [f"t{j}" for j in range(tasks)]
    g = torch.Generator().manual_seed(0)
    batch = {
        "x": torch.randn(batch_size, *SHAPE, generator=g),
        "y": (torch.rand(batch_size, tasks, generator=g) < 0.4).float(),
        "mask": torch.rand(batch_size, tasks, generator=g) < 0.5,
    }
    rows = []

    shared, heads = CNN(SHAPE, width, 4), TaskHeads(CNN(SHAPE, width, 4).feature_dim, names)
    t = _step_time(lambda x: heads(shared(x)), [*shared.parameters(), *heads.parameters()], batch, False, steps)
    rows.append({"what": "multitask (1 shared network)", "params": _params(shared, heads), "step_ms": 1e3 * t})

    sep = SeparateBackbones.build(lambda: CNN(SHAPE, width, 4), names)
    sep_heads = TaskHeads(sep.feature_dim, names)
    t = _step_time(lambda x: sep_heads(sep(x)), [*sep.parameters(), *sep_heads.parameters()], batch, True, steps)
    rows.append(
        {"what": f"separate ({tasks} networks, one step)", "params": _params(sep, sep_heads), "step_ms": 1e3 * t}
    )

    one, one_head = CNN(SHAPE, width, 4), TaskHeads(CNN(SHAPE, width, 4).feature_dim, ["t0"])
    single = {"x": batch["x"], "y": batch["y"][:, :1], "mask": batch["mask"][:, :1]}
    t = _step_time(lambda x: one_head(one(x)), [*one.parameters(), *one_head.parameters()], single, False, steps)
    rows.append(
        {
            "what": f"{tasks} single-task networks (one after the other)",
            "params": tasks * _params(one, one_head),
            "step_ms": 1e3 * t * tasks,
        }
    )

    fused, fused_heads = GroupedCNN(tasks, width, 4), TaskHeads(sep.feature_dim, names)
    t = _step_time(
        lambda x: fused_heads(fused(x)), [*fused.parameters(), *fused_heads.parameters()], batch, True, steps
    )
    rows.append(
        {
            "what": f"fused grouped-conv ({tasks} networks, not used)",
            "params": _params(fused, fused_heads),
            "step_ms": 1e3 * t,
        }
    )
    for r in rows:
        r["tasks"] = tasks
        r["samples_per_s"] = batch_size / (r["step_ms"] / 1e3)
    return rows


def _cli(args: list[str], log_dir: Path) -> float:
    env = {**os.environ, "MTLKIT_LOG_DIR": str(log_dir), "WANDB_MODE": "offline"}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mtlkit.cli.train", *args], check=True, env=env, capture_output=True)
    return time.perf_counter() - t0


def bench_cli(num_train: int, epochs: int) -> tuple[list[dict], dict]:
    tasks = ["pedestrian", "car", "stop_sign", "traffic_light"]
    common = [
        f"data.num_train={num_train}",
        "data.num_val=1000",
        "data.num_test=1000",
        f"trainer.max_epochs={epochs}",
        "logger=none",
        "callbacks.rich_progress_bar=null",
        "callbacks.early_stopping=null",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp)
        _cli([*common, "trainer.fast_dev_run=true"], log / "warm")  # generate and cache the data once
        rows = [{"what": "mtlkit-train approach=multitask", "wall_s": _cli(common, log / "mt")}]
        rows.append(
            {"what": "mtlkit-train approach=separate", "wall_s": _cli([*common, "approach=separate"], log / "sep")}
        )
        singles = [_cli([*common, f"data.tasks=[{t}]"], log / t) for t in tasks]
        rows.append(
            {"what": f"{len(tasks)} x mtlkit-train data.tasks=[task], one after the other", "wall_s": sum(singles)}
        )
        aurocs = {}
        for f in log.rglob("results.json"):
            res = json.loads(f.read_text())
            if res["approach"] == "separate" or len(res["tasks"]) == 1:
                for t, row in res["metrics"]["test"]["per_task"].items():
                    aurocs.setdefault(res["approach"] if len(res["tasks"]) > 1 else "single", {})[t] = row["auroc"]
    return rows, aurocs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-cli", action="store_true")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()
    steps = 5 if args.quick else args.steps
    print(f"torch {torch.__version__}, {platform.machine()}, {torch.get_num_threads()} threads\n")
    print("| T | what | parameters | step (ms) | samples/s |\n|---:|---|---:|---:|---:|")
    for tasks in (4,) if args.quick else (4, 8):
        for r in bench_steps(tasks, args.width, args.batch_size, steps):
            print(f"| {r['tasks']} | {r['what']} | {r['params']:,} | {r['step_ms']:.1f} | {r['samples_per_s']:,.0f} |")
    if not args.no_cli:
        num_train, epochs = (1000, 1) if args.quick else (5000, 3)
        print(f"\nEnd to end, 4 tasks, {num_train} training images, {epochs} epochs (data cached beforehand):\n")
        print("| what | wall (s) |\n|---|---:|")
        rows, aurocs = bench_cli(num_train, epochs)
        for r in rows:
            print(f"| {r['what']} | {r['wall_s']:.1f} |")
        print(f"\ntest AUROC per task (separate networks vs single-task runs): {json.dumps(aurocs)}")


if __name__ == "__main__":
    main()
