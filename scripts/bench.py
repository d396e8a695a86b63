"""Benchmarks (not tests): generator speed, Lightning overhead against a plain PyTorch loop, 4 vs 100 tasks.

    python scripts/bench.py            # full run, about 30 s on 2 cores
    python scripts/bench.py --quick    # smaller, for a smoke check

Prints a markdown table; docs/benchmarks.md holds the figures of a recorded run.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import pytorch_lightning as pl
import torch

from mtlkit.data.augment import ImageScale
from mtlkit.data.base import MultiLabelDataset, SplitData, collate_batch
from mtlkit.data.synthetic.scenes import SceneSpec, generate_scenes
from mtlkit.models.backbones.cnn import CNN
from mtlkit.models.module import MultiTaskModule
from mtlkit.objective.masked_bce import masked_bce


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
    ds = MultiLabelDataset(split, ImageScale())
    return torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=True, collate_fn=collate_batch)


def _module(tasks: int, width: int) -> MultiTaskModule:
    torch.manual_seed(0)
    names = [f"t{j}" for j in range(tasks)]
    return MultiTaskModule(CNN((3, 32, 32), width=width, depth=4), names, optimizer=_adamw)


def _adamw(params):
    return torch.optim.AdamW(params, lr=1e-3)


def bench_lightning_vs_plain(n: int, batch_size: int, epochs: int, width: int) -> list[dict]:
    split = _data(n, 4)
    steps = epochs * (n // batch_size)

    # Plain PyTorch: same model, batches, optimizer, loss.
    module = _module(4, width)
    opt = module.configure_optimizers()
    loader = _loader(split, batch_size)
    module.train()
    t0 = time.perf_counter()
    seen = 0
    for _ in range(epochs):
        for batch in loader:
            if len(batch["y"]) < batch_size:
                continue
            loss = masked_bce(module(batch["x"]), batch["y"], batch["mask"])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            seen += len(batch["y"])
    plain = seen / (time.perf_counter() - t0)

    module = _module(4, width)
    trainer = pl.Trainer(
        accelerator="cpu",
        devices=1,
        max_epochs=epochs,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
    )
    loader = _loader(split, batch_size)
    t0 = time.perf_counter()
    trainer.fit(module, train_dataloaders=loader)
    lit = n * epochs / (time.perf_counter() - t0)
    return [
        {
            "what": f"training, plain PyTorch loop (CNN width {width}, batch {batch_size}, {steps} steps)",
            "value": plain,
            "unit": "samples/s",
        },
        {
            "what": "training, mtlkit LightningModule + Trainer (same model, data, optimizer)",
            "value": lit,
            "unit": "samples/s",
        },
        {"what": "Lightning / plain throughput ratio", "value": lit / plain, "unit": "x"},
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
    args = parser.parse_args()
    n = 2000 if args.quick else 20000
    rows = bench_generator(n)
    rows += bench_lightning_vs_plain(
        n=1024 if args.quick else 8192, batch_size=128, epochs=1 if args.quick else 3, width=32
    )
    rows += bench_tasks(batch_size=128, width=32, repeats=5 if args.quick else 30)
    print(
        f"torch {torch.__version__}, lightning {pl.__version__}, {torch.get_num_threads()} threads, "
        f"{platform.processor() or platform.machine()}"
    )
    print("| measurement | value | unit |\n|---|---:|---|")
    for r in rows:
        print(f"| {r['what']} | {r['value']:.3g} | {r['unit']} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
