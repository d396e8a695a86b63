"""Behaviour check for refactors: run the default run and one run of each approach (and data source), keep every
``results.json``'s metrics, and compare two such collections value for value.

    python scripts/check_unchanged.py run OUT_DIR [--only NAME ...]   # run the suite with the mtlkit on sys.path
    python scripts/check_unchanged.py compare BEFORE_DIR AFTER_DIR    # exit 1 on any difference

To compare two versions of the code, run the suite once per checkout (``PYTHONPATH=<checkout>/src`` selects the
code and its ``conf/``), each into its own folder, then compare. Each run uses a cache folder of its own inside
OUT_DIR, so generated data sets are rebuilt by the code under test. CPU, seed 0, about 8 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

SMALL_SOURCE = ["source.num_train=3000", "source.num_val=500", "source.num_test=500", "transfer.pretrain.max_epochs=2"]
SMALL = ["data.num_train=2000", "data.num_val=500", "data.num_test=500", "trainer.max_epochs=3"]
REPO = Path(__file__).resolve().parents[1]

SUITE: dict[str, list[str]] = {
    "default": [],
    "separate": ["approach=separate", *SMALL, "+trainer.gradient_clip_val=1.0"],
    "transfer_full": ["approach=transfer", *SMALL, *SMALL_SOURCE],
    "transfer_lp_ft": ["approach=transfer", "finetune=lp_ft", *SMALL, *SMALL_SOURCE],
    "transfer_gradual": ["approach=transfer", "finetune=gradual", *SMALL, *SMALL_SOURCE],
    "transfer_last_k": ["approach=transfer", "finetune=last_k", "finetune.k=2", *SMALL, *SMALL_SOURCE],
    "multitask_labels_negative": [*SMALL, "loss.normalization=labels", "loss.unknown=negative", "head.layers=2"],
    "multitask_mlp_sgd": [*SMALL, "model=mlp", "optimizer=sgd", "scheduler=cosine"],
    "noise_source": ["approach=transfer", "data@source=noise", "source.num_train=1000", *SMALL, "finetune=head_only"],
    "table": [
        "data=table",
        f"data.path={REPO / 'examples/table/patients.csv'}",
        "data.label_columns=[a,b,c]",
        "model=mlp",
        "trainer.max_epochs=3",
    ],
    "images": [
        "data=images",
        f"data.path={REPO / 'examples/images/labels.csv'}",
        "data.image_size=32",
        "data.batch_size=16",
        "trainer.max_epochs=3",
    ],
}


def run_suite(out: Path, only: list[str] | None) -> int:
    out.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "WANDB_MODE": "offline",
        "WANDB_SILENT": "true",
        "MTLKIT_CACHE_DIR": str(out / "cache"),
        "PYTHONUNBUFFERED": "1",
    }
    failed = 0
    for name, overrides in SUITE.items():
        if only and name not in only:
            continue
        run_dir = out / name
        cmd = [sys.executable, "-m", "mtlkit.cli.train" if _has_cli_package() else "mtlkit.train"]
        cmd += [*overrides, "seed=0", "logger=csv", "callbacks.rich_progress_bar=null", f"hydra.run.dir={run_dir}"]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        (out / f"{name}.log").write_text(proc.stdout + proc.stderr)
        status = "ok" if proc.returncode == 0 else f"FAILED (exit {proc.returncode}, see {name}.log)"
        failed += proc.returncode != 0
        print(f"{name:28s} {time.perf_counter() - t0:6.1f} s  {status}", flush=True)
    return 1 if failed else 0


def _has_cli_package() -> bool:
    import importlib.util

    return importlib.util.find_spec("mtlkit.cli") is not None


def metrics_of(run_dir: Path) -> dict:
    res = json.loads((run_dir / "results.json").read_text())
    keep = {"metrics": res["metrics"], "label_counts": res.get("label_counts"), "parameters": res.get("parameters")}
    if "transfer" in res:
        keep["source_metrics"] = res["transfer"]["source"].get("metrics")
    if "finetune" in res:
        keep["phases"] = [p.get("metrics") for p in res["finetune"]["phases"]]
    return keep


def _diff(a, b, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += _diff(a.get(k), b.get(k), f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _diff(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def compare(before: Path, after: Path) -> int:
    bad = 0
    for name in SUITE:
        a, b = before / name / "results.json", after / name / "results.json"
        if not a.is_file() or not b.is_file():
            print(f"{name:28s} missing results.json ({'before' if not a.is_file() else 'after'})")
            bad += 1
            continue
        diffs = _diff(metrics_of(before / name), metrics_of(after / name))
        n = sum(1 for _ in json.dumps(metrics_of(before / name)).split(","))
        print(f"{name:28s} {'identical' if not diffs else f'{len(diffs)} differences'} (~{n} values compared)")
        for d in diffs[:10]:
            print("   ", d)
        bad += bool(diffs)
    return 1 if bad else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("out", type=Path)
    r.add_argument("--only", nargs="*")
    c = sub.add_parser("compare")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    args = parser.parse_args()
    return run_suite(args.out, args.only) if args.cmd == "run" else compare(args.before, args.after)


if __name__ == "__main__":
    sys.exit(main())
