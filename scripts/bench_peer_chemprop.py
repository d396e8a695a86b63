"""A peer on the same split: Chemprop 2.3 (a D-MPNN on molecular graphs) against mtlkit on Tox21, on exactly the
rows, split and seeds of mtlkit's data module; test macro AUROC / AP and wall time side by side (issue 25, item 5).

Chemprop lives in its own venv so that it does not touch mtlkit's (once, about 2 minutes; the torch pin is the
CPU build mtlkit uses, docs ENVIRONMENT.md, so pip does not pull a CUDA build):

    python -m venv .venv-peer && .venv-peer/bin/pip install torch==2.13.0 chemprop==2.3.0

Run from the repository root with mtlkit's venv active (docs/benchmarks.md, "A peer on the same split"):

    python scripts/bench_peer_chemprop.py --seeds 0 1 2 --splits random scaffold --chemprop-args="--patience 5"

(``--patience 5``: mtlkit's default early stopping, so that chemprop stops when validation stops improving; without
it chemprop trains all 50 epochs and keeps the best. About 2-4 minutes a chemprop epoch on a busy 2-core machine.)

For each split kind K and seed s:

1. mtlkit's data module for ``data=tox21 data.path=P seed=s data.seed=s data.split=K`` builds the split. The rows
   RDKit parses (mtlkit leaves Tox21's 8 others out) go, in file order and with the labels mtlkit read, to the CSV
   chemprop trains on; their train/val/test positions go to chemprop's ``--splits-file``.
2. ``mtlkit-train data=tox21 data.path=P seed=s data.seed=s data.split=K`` (plus ``--mtlkit-overrides``), timed as
   a whole process, then ``mtlkit-predict RUN --split test``.
3. ``chemprop train`` with chemprop's own defaults (50 epochs, the best val-loss checkpoint, 0 dropout, ...) on
   that CSV and splits file, ``--pytorch-seed s --data-seed s``, timed as a whole process, then ``chemprop
   predict`` with its ``best.pt`` on the test rows.
4. Both sides' test probabilities are scored by the same code, :func:`mtlkit.evaluation.metrics.task_metrics`,
   against the labels of mtlkit's test split.

Writes ``OUT/results.csv`` (one row per side, split and seed), ``OUT/results.json`` (that, per-task values, the
commands, mtlkit's git commit, versions and the load average at start and end: the machine may be shared) and
``OUT/results.md`` (the tables of docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mtlkit.build import build_datamodule
from mtlkit.config import compose_train
from mtlkit.data.base import SPLITS
from mtlkit.data.files.labelled_file import LabelledFileDataModule
from mtlkit.evaluation.metrics import task_metrics

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PEER = REPO / ".venv-peer" / "bin" / "chemprop"
DEFAULT_DATA = REPO.parent / "shared" / "data" / "moleculenet" / "tox21.csv"
PEER_INSTALL = "python -m venv .venv-peer && .venv-peer/bin/pip install torch==2.13.0 chemprop==2.3.0"
SMILES = "smiles"  # the SMILES column of the CSV chemprop reads
SIDES = ("mtlkit", "chemprop")


# -- the split, as mtlkit's data module builds it ----------------------------------------------------------------
@dataclass
class SplitExport:
    """mtlkit's split of a molecule file, in terms of the rows chemprop sees (the parsed rows, in file order)."""

    tasks: list[str]
    smiles: list[str]  # of each parsed row
    file_rows: np.ndarray  # each parsed row's 0-based data row in the source file
    labels: np.ndarray  # float [N, T]: 1, 0, or NaN where mtlkit has no label
    indices: dict[str, np.ndarray]  # split name -> positions into ``smiles``
    ids: dict[str, list[str]]  # split name -> the data module's example ids, in its order
    split_source: str

    def chemprop_csv(self, path: Path) -> None:
        """The SMILES and labels (1/0/blank) chemprop trains on; row i is parsed row i."""
        table = pd.DataFrame({SMILES: self.smiles})
        for j, task in enumerate(self.tasks):
            table[task] = pd.array(self.labels[:, j], dtype="Float64").astype("Int64")
        table.to_csv(path, index=False)

    def splits_json(self, path: Path) -> None:
        """chemprop's ``--splits-file``: one replicate, the positions of each split."""
        path.write_text(json.dumps([{name: self.indices[name].tolist() for name in SPLITS}]) + "\n")

    def test_targets(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The test labels (0/1) and their mask, in the data module's test order."""
        y = self.labels[self.indices["test"]]
        mask = ~np.isnan(y)
        return torch.from_numpy(np.nan_to_num(y).astype(np.int8)), torch.from_numpy(mask)


def export_split(overrides: Sequence[str]) -> SplitExport:
    """Build the data module ``mtlkit-train OVERRIDES`` would build and read its split off it: which kept rows of the
    file went to train, val and test (recorded where the data module turns rows into inputs), with its labels."""
    cfg = compose_train(overrides)
    dm = build_datamodule(cfg.data, set_up=False)
    if not isinstance(dm, LabelledFileDataModule) or not hasattr(dm, "smiles_column"):
        raise SystemExit(f"bench_peer_chemprop: {list(overrides)} is not a molecule file (data=tox21|molecules)")
    seen: dict[str, object] = {}
    build_inputs = dm.build_inputs

    def recording_build_inputs(frame, split):  # the kept rows (parsed SMILES) and their split, in file order
        seen["frame"], seen["split"] = frame, np.asarray(split).copy()
        return build_inputs(frame, split)

    dm.build_inputs = recording_build_inputs
    dm.setup()
    frame, split = seen["frame"], seen["split"]
    first_row = 2 if frame.unit == "line" else 1  # frame.numbers: CSV lines (header = line 1) or Parquet rows
    indices = {name: np.nonzero(split == s)[0] for s, name in enumerate(SPLITS)}
    labels = np.full((len(split), len(dm.tasks)), np.nan)
    for name in SPLITS:
        part = dm.splits[name]
        labels[indices[name]] = np.where(part.mask.numpy(), part.y.numpy(), np.nan)
    return SplitExport(
        tasks=list(dm.tasks),
        smiles=frame.data[dm.smiles_column].astype(str).str.strip().tolist(),
        file_rows=np.asarray(frame.numbers) - first_row,
        labels=labels,
        indices=indices,
        ids={name: list(dm.splits[name].ids) for name in SPLITS},
        split_source=dm.split_source,
    )


# -- running each side ---------------------------------------------------------------------------------------------
@dataclass
class Run:
    """One side's run on one split and seed."""

    side: str
    split: str
    seed: int
    command: list[str]
    train_s: float = math.nan
    predict_s: float = math.nan
    auroc: float = math.nan
    ap: float = math.nan
    own_test_auroc: float | None = None  # what the side itself reported (a check of the shared metric code)
    uncommitted: list[str] = field(default_factory=list)  # mtlkit: src/ and conf/ files changed from the commit
    per_task: dict = field(default_factory=dict)
    load_before: tuple = ()
    load_after: tuple = ()


def timed(command: Sequence[str], log: Path, env: dict[str, str] | None = None) -> float:
    """Run ``command`` to the end, its output into ``log``; return its wall time; fail naming the log."""
    start = time.perf_counter()
    with open(log, "w") as out:
        done = subprocess.run(list(command), stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        tail = "".join(log.read_text().splitlines(keepends=True)[-15:])
        raise SystemExit(f"bench_peer_chemprop: {command[0]} failed (exit {done.returncode}), see {log}:\n{tail}")
    return seconds


def mtlkit_command(name: str) -> list[str]:
    """mtlkit's console script ``name`` next to this Python, or ``python -m`` when it is not installed as one."""
    script = Path(sys.executable).with_name(name)
    module = {"mtlkit-train": "mtlkit.cli.train", "mtlkit-predict": "mtlkit.cli.predict"}[name]
    return [str(script)] if script.exists() else [sys.executable, "-m", module]


def run_mtlkit(overrides: list[str], export: SplitExport, folder: Path, run: Run) -> None:
    """mtlkit-train (timed), then mtlkit-predict on the test split; fills ``run``."""
    env = {**os.environ, "WANDB_MODE": os.environ.get("WANDB_MODE", "offline")}
    run_dir = folder / "run"
    run.command = [*mtlkit_command("mtlkit-train"), *overrides]
    run.uncommitted = uncommitted_changes()  # the working tree may be shared: what this run trained with
    run.train_s = timed([*run.command, f"hydra.run.dir={run_dir}"], folder / "train.log", env)
    preds = folder / "test_predictions.csv"
    predict = [*mtlkit_command("mtlkit-predict"), str(run_dir), "--split", "test", "--output", str(preds)]
    run.predict_s = timed(predict, folder / "predict.log", env)
    table = pd.read_csv(preds, keep_default_na=False, dtype={"id": str})
    if table["id"].tolist() != export.ids["test"]:
        raise SystemExit(f"bench_peer_chemprop: {preds} is not in the order of the exported test split")
    score(run, table[[f"prob_{t}" for t in export.tasks]].to_numpy(float), export)
    own = json.loads((run_dir / "results.json").read_text())["metrics"]["test"]["macro"]["auroc"]
    run.own_test_auroc = own


def run_chemprop(peer: Path, extra: list[str], export: SplitExport, folder: Path, seed: int, run: Run) -> None:
    """chemprop train on the exported rows and split (timed), then chemprop predict with its best model."""
    data, splits, out = folder / "data.csv", folder / "splits.json", folder / "train"
    export.chemprop_csv(data)
    export.splits_json(splits)
    run.command = [
        str(peer),
        "train",
        "--data-path",
        str(data),
        "--smiles-columns",
        SMILES,
        "--target-columns",
        *export.tasks,
        "--task-type",
        "classification",
        "--splits-file",
        str(splits),
        "--pytorch-seed",
        str(seed),
        "--data-seed",
        str(seed),
        "--output-dir",
        str(out),
        *extra,
    ]
    run.train_s = timed(run.command, folder / "train.log")
    test_csv, preds = folder / "test.csv", folder / "test_predictions.csv"
    pd.DataFrame({SMILES: [export.smiles[i] for i in export.indices["test"]]}).to_csv(test_csv, index=False)
    best = next(out.rglob("best.pt"))
    predict = [
        str(peer),
        "predict",
        "--test-path",
        str(test_csv),
        "--smiles-columns",
        SMILES,
        "--model-paths",
        str(best),
        "--preds-path",
        str(preds),
    ]
    run.predict_s = timed(predict, folder / "predict.log")
    table = pd.read_csv(preds, keep_default_na=False)
    if table[SMILES].tolist() != [export.smiles[i] for i in export.indices["test"]]:
        raise SystemExit(f"bench_peer_chemprop: {preds} is not in the order of the exported test split")
    score(run, table[export.tasks].to_numpy(float), export)
    reported = re.findall(r"test/roc: ([0-9.]+)", (folder / "train.log").read_text())
    run.own_test_auroc = float(reported[-1]) if reported else None


def score(run: Run, probs: np.ndarray, export: SplitExport) -> None:
    """Test macro AUROC / AP of ``probs`` (test rows x tasks) by mtlkit's metric code, on mtlkit's test labels."""
    y, mask = export.test_targets()
    result = task_metrics(torch.from_numpy(probs).float(), y, mask, export.tasks)
    run.auroc, run.ap = result["macro"]["auroc"], result["macro"]["ap"]
    run.per_task = {t: {"auroc": r["auroc"], "ap": r["ap"]} for t, r in result["per_task"].items()}


# -- what is written -----------------------------------------------------------------------------------------------
def mean_sd(values: Sequence[float], digits: int = 3) -> str:
    """``mean ± sd`` (sample sd; the mean alone for one value) of the defined values."""
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return "-"
    sd = statistics.stdev(values) if len(values) > 1 else math.nan
    return f"{statistics.mean(values):.{digits}f}" + ("" if math.isnan(sd) else f" ± {sd:.{digits}f}")


def markdown(runs: Sequence[Run]) -> str:
    """Per-run rows, then per split and side: mean ± sd over seeds, and mtlkit minus chemprop paired by seed."""
    lines = [
        "| split | seed | side | test macro AUROC | test macro AP | train wall (s) | own test AUROC |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        own = "-" if r.own_test_auroc is None else f"{r.own_test_auroc:.4f}"
        lines.append(f"| {r.split} | {r.seed} | {r.side} | {r.auroc:.4f} | {r.ap:.4f} | {r.train_s:.0f} | {own} |")
    lines += [
        "",
        "| split | side | seeds | test macro AUROC | test macro AP | train wall (s) |",
        "|---|---|---|---|---|---|",
    ]
    for split in dict.fromkeys(r.split for r in runs):
        for side in SIDES:
            rs = [r for r in runs if r.split == split and r.side == side]
            if rs:
                row = [mean_sd([r.auroc for r in rs]), mean_sd([r.ap for r in rs]), mean_sd([r.train_s for r in rs], 0)]
                lines.append(f"| {split} | {side} | {len(rs)} | " + " | ".join(row) + " |")
        by_seed = {(r.side, r.seed): r for r in runs if r.split == split}
        seeds = sorted({s for side, s in by_seed if ("mtlkit", s) in by_seed and ("chemprop", s) in by_seed})
        if seeds:
            diff = [
                [by_seed["mtlkit", s].auroc - by_seed["chemprop", s].auroc for s in seeds],
                [by_seed["mtlkit", s].ap - by_seed["chemprop", s].ap for s in seeds],
            ]
            lines.append(f"| {split} | mtlkit − chemprop | {len(seeds)} | {mean_sd(diff[0])} | {mean_sd(diff[1])} | |")
    return "\n".join(lines) + "\n"


def write_outputs(out: Path, runs: Sequence[Run], meta: dict) -> None:
    rows = [
        {
            "side": r.side,
            "split": r.split,
            "seed": r.seed,
            "test_auroc_macro": r.auroc,
            "test_ap_macro": r.ap,
            "train_wall_s": round(r.train_s, 1),
            "predict_wall_s": round(r.predict_s, 1),
            "own_test_auroc": r.own_test_auroc,
        }
        for r in runs
    ]
    with open(out / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["side"])
        writer.writeheader()
        writer.writerows(rows)
    details = [
        {**row, "command": r.command, "per_task": r.per_task, "load_before": r.load_before, "load_after": r.load_after}
        for row, r in zip(rows, runs)
    ]
    (out / "results.json").write_text(json.dumps({**meta, "runs": details}, indent=2, default=str) + "\n")
    (out / "results.md").write_text(markdown(runs))


def uncommitted_changes() -> list[str]:
    """``git status --porcelain`` lines of src/ and conf/: what the working tree mtlkit runs from adds to its commit."""
    status = ["git", "-C", str(REPO), "status", "--porcelain", "--", "src", "conf"]
    return subprocess.run(status, capture_output=True, text=True).stdout.splitlines()


def machine_facts(peer: Path) -> dict:
    """mtlkit's commit (and what src/ or conf/ change from it), versions, cores, the load average."""
    git = ["git", "-C", str(REPO)]
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    version = "import chemprop, torch; print(chemprop.__version__, torch.__version__)"
    peer_python = peer.with_name("python")
    peer_versions = subprocess.run([str(peer_python), "-c", version], capture_output=True, text=True).stdout.split()
    return {
        "mtlkit_commit": commit,
        "mtlkit_uncommitted_at_start": uncommitted_changes(),
        "mtlkit_torch": torch.__version__,
        "chemprop": peer_versions[0] if peer_versions else "unknown",
        "chemprop_torch": peer_versions[1] if len(peer_versions) > 1 else "unknown",
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "uptime_start": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
        "note": "wall times are whole processes on this machine, which other jobs may share (see the load averages)",
    }


# -- the command line ----------------------------------------------------------------------------------------------
def check_peer(peer: Path) -> None:
    """Refuse in one line, before any work, when chemprop is not at ``peer``."""
    if not (peer.is_file() and os.access(peer, os.X_OK)):
        raise SystemExit(
            f"bench_peer_chemprop: no chemprop at {peer}; install it in its own venv from the repository root: "
            f"{PEER_INSTALL} (or pass --peer PATH)"
        )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--peer", type=Path, default=DEFAULT_PEER, help="chemprop's CLI (default: .venv-peer/bin/chemprop)")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="Tox21's CSV (default: ../shared/data/...)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0], help="seed=s data.seed=s for each s (default: 0)")
    p.add_argument("--splits", nargs="+", default=["random"], choices=["random", "scaffold"], help="data.split")
    p.add_argument("--sides", nargs="+", default=list(SIDES), choices=SIDES, help="which sides to run")
    p.add_argument("--mtlkit-overrides", nargs="*", default=[], help="added to mtlkit-train, e.g. model=mlp")
    p.add_argument("--chemprop-args", default="", help="added to chemprop train, e.g. --chemprop-args='--epochs 2'")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: outputs/bench_peer_chemprop/TIME)")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if "chemprop" in args.sides:
        check_peer(args.peer)
    if not args.data.is_file():
        raise SystemExit(f"bench_peer_chemprop: no Tox21 file at {args.data}; pass --data PATH")
    out = (
        args.out or REPO / "outputs" / "bench_peer_chemprop" / datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    ).resolve()
    out.mkdir(parents=True, exist_ok=True)
    meta = {"argv": sys.argv, "data": str(args.data.resolve()), **machine_facts(args.peer)}
    runs: list[Run] = []
    for split in args.splits:
        for seed in args.seeds:
            overrides = [
                "data=tox21",
                f"data.path={args.data.resolve()}",
                f"seed={seed}",
                f"data.seed={seed}",
                f"data.split={split}",
                *args.mtlkit_overrides,
            ]
            export = export_split(overrides)
            meta.setdefault("splits", {})[f"{split}/{seed}"] = {
                "source": export.split_source,
                **{n: len(export.indices[n]) for n in SPLITS},
            }
            for side in args.sides:
                folder = out / side / split / f"seed{seed}"
                folder.mkdir(parents=True, exist_ok=True)
                run = Run(side, split, seed, [], load_before=os.getloadavg())
                print(f"{side} {split} seed {seed} ...", flush=True)
                if side == "mtlkit":
                    run_mtlkit(overrides, export, folder, run)
                else:
                    run_chemprop(args.peer, shlex.split(args.chemprop_args), export, folder, seed, run)
                run.load_after = os.getloadavg()
                print(f"  test macro AUROC {run.auroc:.4f}, AP {run.ap:.4f}, train {run.train_s:.0f} s", flush=True)
                runs.append(run)
                meta["uptime_end"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
                write_outputs(out, runs, meta)  # after every run: a long run interrupted keeps what it measured
    print(markdown(runs))
    print(f"wrote {out}/results.csv, results.json, results.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
