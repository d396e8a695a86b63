"""Benchmark (not a test): training samples/s of a timm backbone in mtlkit's MultiTaskModule, per image size, with
and without ``channels_last``, and (on a GPU) with bf16 autocast.

    python scripts/bench_timm.py                                   # resnet18, 64 and 128 px, on the CPU
    python scripts/bench_timm.py --device cuda --precision 32 bf16 --batch-size 256 --json out.json

One training step is forward, the masked loss of 4 tasks (a quarter of the labels missing), backward and an AdamW
step, on random inputs (the data pipeline is not timed). Configurations run interleaved, ``--repeats`` rounds of
``--steps`` timed steps each after warm-up, and the median round is reported, so that the ratios compare figures
taken side by side. Needs timm (``pip install -e ".[timm]"``); docs/benchmarks.md holds recorded figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import statistics
import time

import torch

from mtlkit.models.backbones.timm_backbone import TimmBackbone
from mtlkit.objective.masked_bce import masked_bce

TASKS = 4


def make_step(name: str, size: int, batch: int, device: str, channels_last: bool, precision: str):
    torch.manual_seed(0)
    backbone = TimmBackbone([3, size, size], name=name).to(device)
    head = torch.nn.Linear(backbone.feature_dim, TASKS).to(device)
    memory = torch.channels_last if channels_last else torch.contiguous_format
    backbone = backbone.to(memory_format=memory)
    params = list(backbone.parameters()) + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=1e-3)
    x = torch.randn(batch, 3, size, size, device=device).to(memory_format=memory)
    y = (torch.rand(batch, TASKS, device=device) < 0.5).float()
    mask = torch.rand(batch, TASKS, device=device) < 0.75

    def autocast():
        if precision == "bf16":
            return torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def step() -> None:
        with autocast():
            logits = head(backbone(x))
        loss = masked_bce(logits.float(), y, mask)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", nargs="+", default=["32"], choices=["32", "bf16"])
    parser.add_argument("--steps", type=int, default=5, help="timed steps per round")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="rounds; the median is reported")
    parser.add_argument("--json", default=None, help="also write the rows here")
    args = parser.parse_args()
    if args.device.startswith("cuda"):
        torch.backends.cudnn.benchmark = True
    configs = [
        (size, cl, prec) for size in args.sizes for prec in args.precision for cl in (False, True)
    ]  # fmt: skip
    steps = {c: make_step(args.model, c[0], args.batch_size, args.device, c[1], c[2]) for c in configs}
    for step in steps.values():
        for _ in range(args.warmup):
            step()
    sync(args.device)
    rounds: dict = {c: [] for c in configs}
    for _ in range(args.repeats):
        for c, step in steps.items():  # interleaved: every configuration sees the same machine state
            sync(args.device)
            t0 = time.perf_counter()
            for _ in range(args.steps):
                step()
            sync(args.device)
            rounds[c].append(args.steps * args.batch_size / (time.perf_counter() - t0))
    rows = []
    for size, cl, prec in configs:
        base = statistics.median(rounds[(size, False, prec)])
        value = statistics.median(rounds[(size, cl, prec)])
        rows.append(
            {
                "model": args.model,
                "image_size": size,
                "precision": prec,
                "channels_last": cl,
                "samples_per_s": round(value, 1),
                "vs_contiguous": round(value / base, 3),
                "rounds": [round(v, 1) for v in rounds[(size, cl, prec)]],
            }
        )
    device = torch.cuda.get_device_name() if args.device.startswith("cuda") else platform.processor() or "cpu"
    print(f"{args.model}, batch {args.batch_size}, {args.device} ({device}), torch {torch.__version__}, "
          f"threads {torch.get_num_threads()}")  # fmt: skip
    print("| image size | precision | channels_last | samples/s | vs contiguous |")
    print("| --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['image_size']} | {r['precision']} | {r['channels_last']} | {r['samples_per_s']:,.0f} | "
              f"{r['vs_contiguous']:.2f} |")  # fmt: skip
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"device": device, "torch": torch.__version__, "batch_size": args.batch_size, "rows": rows}, fh)


if __name__ == "__main__":
    main()
