"""Benchmarks (not tests): generator speed, Lightning overhead against a plain PyTorch loop, 4 vs 100 tasks.

    python scripts/bench.py                     # full run
    python scripts/bench.py --quick             # smaller, for a smoke check
    python scripts/bench.py --only lightning    # the Lightning / plain comparison alone (--rounds N)

Prints a markdown table; docs/benchmarks.md holds the figures of a recorded run.
"""

from __future__ import annotations

import mtlkit  # noqa: F401  # first: its torchvision shim must precede Lightning's import of torchvision

# isort: split

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from dataclasses import dataclass

import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import CSVLogger

from mtlkit.data.augment import ImageScale
from mtlkit.data.base import MultiLabelDataset, SplitData, collate_batch
from mtlkit.data.synthetic.scenes import SceneSpec, generate_scenes
from mtlkit.models.backbones.cnn import CNN
from mtlkit.models.module import MultiTaskModule
from mtlkit.objective.masked_bce import masked_bce
from mtlkit.objective.weighting.ew import EqualWeighting


def bench_generator(n: int) -> list[dict]:
    rows = []
    for label, spec in [
        ("32x32, 4 classes", SceneSpec(num_images=n)),
        ("64x64, 4 classes, grid 4", SceneSpec(num_images=n // 2, image_size=64, grid=4)),
        ("32x32, 100 classes", SceneSpec(num_images=n, num_classes=100, prevalence=0.03)),
    ]:
        generate_scenes(SceneSpec(num_images=64, image_size=spec.image_size, grid=spec.grid))  # warm-up
        t0 = time.perf_counter()
        generate_scenes(spec)
        dt = time.perf_counter() - t0
        rows.append({"what": f"generator {label}", "value": spec.num_images / dt, "unit": "images/s"})
    return rows


def _data(n: int, tasks: int) -> SplitData:
    s = generate_scenes(SceneSpec(num_images=n, num_classes=tasks, prevalence=min(0.4, 3 / tasks)))
    y = s.labels.float()
    mask = torch.rand(y.shape, generator=torch.Generator().manual_seed(0)) < 0.5
    return SplitData(s.images, y, mask)


def _loader(split: SplitData, batch_size: int) -> torch.utils.data.DataLoader:
    """Shuffled with a fixed seed: every loop built from it sees the same batches in the same order."""
    ds = MultiLabelDataset(split, ImageScale())
    order = torch.Generator().manual_seed(0)
    return torch.utils.data.DataLoader(
        ds, batch_size=batch_size, shuffle=True, collate_fn=collate_batch, generator=order, drop_last=True
    )


def _module(tasks: int, width: int, log_every: int | None = 0) -> MultiTaskModule:
    """The benchmarked model; ``log_every=0``: no task-gradient measurement (the plain loop makes none either),
    None: the default run's, once per epoch."""
    torch.manual_seed(0)
    names = [f"t{j}" for j in range(tasks)]
    weighting = EqualWeighting(names, log_every=log_every)
    return MultiTaskModule(CNN((3, 32, 32), width=width, depth=4), names, optimizer=_adamw, weighting=weighting)


def _adamw(params):
    return torch.optim.AdamW(params, lr=1e-3)


@dataclass
class Timing:
    """One training run: wall and CPU seconds of the training loop, and (Lightning) of the whole ``fit``."""

    wall: float
    cpu: float
    fit_wall: float | None = None


def _train_plain(module: MultiTaskModule, loader: torch.utils.data.DataLoader, epochs: int) -> Timing:
    """The hand-written loop: same model, batches, optimizer and loss (the seed formula, masked_bce)."""
    opt = module.configure_optimizers()
    module.train()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(epochs):
        for batch in loader:
            loss = masked_bce(module(batch["x"]), batch["y"], batch["mask"])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return Timing(time.perf_counter() - wall, time.process_time() - cpu)


class _LoopClock(pl.Callback):
    """Times the training loop alone: from ``on_train_start`` (the Trainer is set up) to ``on_train_end``."""

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def _train_lightning(module: MultiTaskModule, loader: torch.utils.data.DataLoader, epochs: int) -> Timing:
    """``Trainer.fit`` with what a run's Trainer does per step (logging every 50 steps to a CSV file) and nothing
    the plain loop lacks (no validation, checkpoints, progress bar)."""
    clock = _LoopClock()
    with tempfile.TemporaryDirectory() as folder:
        trainer = pl.Trainer(
            accelerator="cpu",
            devices=1,
            max_epochs=epochs,
            logger=CSVLogger(folder),
            callbacks=[clock],
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            limit_val_batches=0,
            num_sanity_val_steps=0,
        )
        start = time.perf_counter()
        trainer.fit(module, train_dataloaders=loader)
        fit_wall = time.perf_counter() - start
    return Timing(clock.wall, clock.cpu, fit_wall)


def bench_lightning_vs_plain(n: int, batch_size: int, epochs: int, width: int, rounds: int) -> list[dict]:
    """Plain loop, LightningModule + Trainer, and the same with the default task-gradient monitor, run one after
    the other in each of ``rounds`` rounds (the order turning each round); medians over the rounds, ratios taken
    within a round. The Trainer's start-up (``fit`` minus the loop) is reported on its own."""
    split = _data(n, 4)
    loader = _loader(split, batch_size)
    samples = epochs * (n // batch_size) * batch_size
    runs = {
        "plain": lambda: _train_plain(_module(4, width), loader, epochs),
        "lightning": lambda: _train_lightning(_module(4, width), loader, epochs),
        "monitor": lambda: _train_lightning(_module(4, width, log_every=None), loader, epochs),
    }
    times: dict[str, list[Timing]] = {name: [] for name in runs}
    for r in range(rounds):
        names = list(runs) if r % 2 == 0 else list(reversed(runs))
        for name in names:
            times[name].append(runs[name]())

    def median_ratio(name: str, field: str) -> float:
        return statistics.median(getattr(p, field) / getattr(t, field) for p, t in zip(times["plain"], times[name]))

    steps = samples // batch_size
    return [
        {
            "what": f"training, plain PyTorch loop (CNN width {width}, depth 4, batch {batch_size}, AdamW, {steps} "
            f"steps; median of {rounds} rounds)",
            "value": samples / statistics.median(t.wall for t in times["plain"]),
            "unit": "samples/s",
        },
        {
            "what": "training, mtlkit LightningModule + Trainer (same model, batches, optimizer, loss)",
            "value": samples / statistics.median(t.wall for t in times["lightning"]),
            "unit": "samples/s",
        },
        {
            "what": "Lightning / plain throughput ratio (wall time)",
            "value": median_ratio("lightning", "wall"),
            "unit": "x",
        },
        {
            "what": "Lightning / plain throughput ratio (CPU time)",
            "value": median_ratio("lightning", "cpu"),
            "unit": "x",
        },
        {
            "what": "Lightning with the task-gradient monitor's default (once per epoch) / plain (wall time)",
            "value": median_ratio("monitor", "wall"),
            "unit": "x",
        },
        {
            "what": "Trainer start-up (fit minus the training loop, median)",
            "value": statistics.median(t.fit_wall - t.wall for t in times["lightning"]),
            "unit": "s",
        },
    ]


def bench_tasks(batch_size: int, width: int, repeats: int) -> list[dict]:
    rows = []
    times = {}
    for tasks in (4, 100):
        module = _module(tasks, width)
        opt = module.configure_optimizers()
        x = torch.randn(batch_size, 3, 32, 32)
        y = (torch.rand(batch_size, tasks) < 0.3).float()
        mask = torch.rand(batch_size, tasks) < 0.5
        per_step = []
        for i in range(repeats + 5):
            t0 = time.perf_counter()
            loss = masked_bce(module(x), y, mask)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if i >= 5:
                per_step.append(time.perf_counter() - t0)
        times[tasks] = statistics.median(per_step) * 1000
        rows.append(
            {"what": f"train step, {tasks} tasks (batch {batch_size}, median)", "value": times[tasks], "unit": "ms"}
        )
    rows.append({"what": "step time ratio 100 tasks / 4 tasks", "value": times[100] / times[4], "unit": "x"})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke check")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    parser.add_argument("--only", choices=["generator", "lightning", "tasks"], help="run one part only")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the Lightning / plain comparison")
    args = parser.parse_args()
    n = 2000 if args.quick else 20000
    load = os.getloadavg()[0]
    rows = []
    if args.only in (None, "generator"):
        rows += bench_generator(n)
    if args.only in (None, "lightning"):
        rows += bench_lightning_vs_plain(
            n=1024 if args.quick else 8192,
            batch_size=128,
            epochs=1 if args.quick else 3,
            width=32,
            rounds=args.rounds,
        )
    if args.only in (None, "tasks"):
        rows += bench_tasks(batch_size=128, width=32, repeats=5 if args.quick else 30)
    print(
        f"torch {torch.__version__}, lightning {pl.__version__}, {torch.get_num_threads()} threads, "
        f"{platform.processor() or platform.machine()}; load average {load:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after"
    )
    print("| measurement | value | unit |\n|---|---:|---|")
    for r in rows:
        print(f"| {r['what']} | {r['value']:.3g} | {r['unit']} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
