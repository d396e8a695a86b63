"""Benchmark (not a test): the training-step time and peak memory of every balancing method against ``ew``.

    python scripts/bench_weighting.py                                   # T = 4 and 40, every method, 5 rounds
    python scripts/bench_weighting.py --tasks 4 --methods ew upgrad --repeats 1 --steps 3 --no-memory   # smoke
    python scripts/bench_weighting.py --threads 1 --libmtl-python .cache/libmtl-venv/bin/python --out r.json

What is timed is what ``mtlkit-train`` runs: for each method (``conf/weighting/NAME.yaml``) the module is built by
``build_module`` and the Trainer by ``build_trainer`` from the composed config (``weighting=NAME``,
``data.num_classes=T``, the default CNN at 32x32, batch 128, AdamW + one-cycle, logger and callbacks off), and
``trainer.fit`` runs on one fixed real batch of the driving data (50% of the labels hidden). A step is the time
between two consecutive ``on_train_batch_start`` calls: Lightning's loop, ``training_step`` (for a gradient
method the manual-optimisation path: Jacobian, aggregation, backward of the heads, optimizer and scheduler),
the optimizer step of automatic optimisation, logging and ``after_step`` (FAMO's extra forward pass).

Side by side: every method keeps its own module and Trainer, and each round runs one block (one epoch of
``--steps`` + 2 steps, the first interval dropped: it holds AdamW's state set-up and the task-gradient monitor,
which measures once per epoch) of every method in a shuffled order. Two short warm-up rounds come first, so that
the measured steps are from epoch 2 on (DWA weighs from its third epoch). Ratios are per round (the method's block
median over ew's block median in the same round), and the median of those is reported, so that the machine's
drift cancels. Two plain-PyTorch references run in the same rounds on the same model and batch: "1 backward"
(forward, one backward of the summed loss, AdamW) and "T backward" (forward, T backward passes, one per task
loss, AdamW): the bar for gradient methods.

Clocks: every step is timed by the wall clock and by the process's CPU time (``--clock`` picks the one the ratios
of the first table use; default cpu, which leaves out time the process waited for a core on a shared machine).
``--threads 1`` makes the CPU time a measure of the work done (with two threads on two busy cores, time spent
waiting for the other thread counts too). glibc's malloc thresholds are fixed by default (``--malloc``, see
:func:`fix_malloc`): otherwise page faults that depend on what the process imported blur the comparison.

Peak memory (``--no-memory`` skips it): torch's CPU memory profiler (``profile_memory=True``) over two steady
steps of each method after the timing; the peak of the tensor memory allocated during them, above the weights and
optimizer state allocated before (see :func:`peak_memory_mib`).

LibMTL (``--libmtl-python``): ``scripts/bench_libmtl.py`` runs in LibMTL's own venv once per round, right after
the mtlkit blocks, on the same encoder weights, batch, loss and AdamW (see its docstring for the venv). A LibMTL
method that fails is not run again. Methods whose config does not exist are reported as "not available".
"""

from __future__ import annotations

import mtlkit  # noqa: F401  # first: its torchvision shim must precede Lightning's import of torchvision

# isort: split

import argparse
import contextlib
import copy
import io
import json
import logging
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from pytorch_lightning.callbacks import Callback
from torch import nn
from torch.profiler import ProfilerActivity, profile

from mtlkit.build.builders import build_datamodule, build_module, build_trainer
from mtlkit.config import CONFIG_DIR, compose_train
from mtlkit.models.module import MultiTaskModule

LOSS_METHODS = ["ew", "static", "task_mean", "uw", "dwa", "rlw", "gradnorm", "famo", "imtl_l"]
GRADIENT_METHODS = [
    "upgrad", "mgda", "pcgrad", "cagrad", "nash_mtl", "imtl_g", "aligned_mtl", "dualproj", "graddrop", "fairgrad",
]  # fmt: skip
METHODS = LOSS_METHODS + GRADIENT_METHODS
REF_ONE, REF_T = "ref: 1 backward", "ref: T backward"
# mtlkit method -> LibMTL 1.1.5 class (IMTL there is the hybrid: IMTL-L's loss scales + IMTL-G's closed form)
LIBMTL = {
    "ew": "EW", "uw": "UW", "dwa": "DWA", "rlw": "RLW", "gradnorm": "GradNorm", "imtl_g": "IMTL", "mgda": "MGDA",
    "pcgrad": "PCGrad", "cagrad": "CAGrad", "graddrop": "GradDrop",
}  # fmt: skip
LIBMTL_EXTRA = ["CAGrad_T"]  # CAGrad with its hard-coded 3 tasks replaced by T (bench_libmtl.py)
SCRIPTS = Path(__file__).resolve().parent
MALLOC_FIXED = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "1073741824"}  # see fix_malloc


def compose_cfg(overrides: list[str], out_dir: Path) -> DictConfig:
    """The train config as ``mtlkit-train`` composes it, with ``paths.output_dir`` set to ``out_dir``."""
    return compose_train(overrides, out_dir)


EXTRA_OVERRIDES: list[str] = []  # --overrides: e.g. another model for every method (set by main)
REPRESENTATION = "@representation"  # a method name ending so runs with weighting.jacobian=representation


def method_overrides(name: str) -> list[str]:
    """``weighting=NAME``, plus ``weighting.jacobian=representation`` for ``NAME@representation``."""
    if name.endswith(REPRESENTATION):
        return [f"weighting={name[: -len(REPRESENTATION)]}", "weighting.jacobian=representation"]
    return [f"weighting={name}"]


def base_overrides(tasks: int, cache_dir: Path) -> list[str]:
    """Small splits (one batch is used), the default model/optimizer/scheduler, no logger, no callbacks."""
    return EXTRA_OVERRIDES + [
        f"data.num_classes={tasks}",
        "data.num_train=512",
        "data.num_val=64",
        "data.num_test=64",
        f"data.cache_dir={cache_dir}",
        "logger=none",
        "callbacks=none",
    ]


def available(name: str) -> bool:
    return (Path(CONFIG_DIR) / "weighting" / f"{name.removesuffix(REPRESENTATION)}.yaml").is_file()


def quiet() -> None:
    """Silence Lightning's banners and warnings (they would be printed once per fit)."""
    warnings.filterwarnings("ignore")
    for name in ("pytorch_lightning", "lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)


def load_batch(tasks: int, cache_dir: Path, out_dir: Path) -> tuple[DictConfig, Any, dict[str, torch.Tensor]]:
    """``(config, data module, first training batch of 128)`` of the driving data with ``tasks`` classes."""
    cfg = compose_cfg(base_overrides(tasks, cache_dir), out_dir)
    with contextlib.redirect_stdout(io.StringIO()):  # the label table
        dm = build_datamodule(cfg.data)
    torch.manual_seed(cfg.seed)  # the loader's shuffle seed (torch.initial_seed()), as mtlkit-train seeds it
    batch = next(iter(dm.train_dataloader()))
    return cfg, dm, batch


class FixedBatch(torch.utils.data.Dataset):
    """``n`` times the same batch (``DataLoader(..., batch_size=None)`` hands it over as it is)."""

    def __init__(self, batch: dict[str, torch.Tensor], n: int):
        self.batch, self.n = batch, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return self.batch


def loader(batch: dict[str, torch.Tensor], n: int) -> torch.utils.data.DataLoader:
    return torch.utils.data.DataLoader(FixedBatch(batch, n), batch_size=None)


class StepTimer(Callback):
    """Records the wall clock and the process's CPU time at every ``on_train_batch_start``: consecutive
    differences are whole steps."""

    def __init__(self) -> None:
        self.starts: list[tuple[float, float]] = []

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, i: int) -> None:
        self.starts.append((time.perf_counter(), time.process_time()))


Steps = list[tuple[float, float]]  # (wall, cpu) seconds of each step


def family(module: MultiTaskModule) -> str:
    w = module.weighting
    if w.uses_task_gradients:
        return "gradient"
    return "loss + Jacobian" if w.needs_shared_parameters else "loss"


class MtlkitRunner:
    """One method's module and Trainer; ``block(n)`` fits one more epoch of ``n`` steps and returns the steps."""

    def __init__(self, name: str, cfg: DictConfig, dm: Any, batch: dict[str, torch.Tensor]):
        torch.manual_seed(cfg.seed)  # the same initial weights for every method
        self.module = build_module(cfg, dm.input_shape, dm.tasks, label_counts=dm.label_counts())
        self.timer = StepTimer()
        self.trainer = build_trainer(
            cfg,
            extra_callbacks=[self.timer],
            max_epochs=0,
            limit_val_batches=0,
            num_sanity_val_steps=0,
            enable_checkpointing=False,
            enable_progress_bar=False,
        )
        self.batch, self.name, self.family = batch, name, family(self.module)

    def block(self, n: int) -> Steps:
        self.timer.starts = []
        self.trainer.fit_loop.max_epochs = self.trainer.current_epoch + 1
        self.trainer.fit(self.module, train_dataloaders=loader(self.batch, n))
        s = self.timer.starts  # the first interval is dropped: optimizer set-up and the monitor
        return [(b[0] - a[0], b[1] - a[1]) for a, b in zip(s[1:], s[2:])]


@contextlib.contextmanager
def no_stderr() -> Any:
    """Silence file descriptor 2 (the profiler's C++ start/stop lines) for the block."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


class MemoryProbe(Callback):
    """Runs torch's profiler (``profile_memory=True``) from the second step of the fit to its end."""

    def __init__(self) -> None:
        self.profiler: profile | None = None

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, i: int) -> None:
        if i == 1:
            self.profiler = profile(activities=[ProfilerActivity.CPU], profile_memory=True)
            with no_stderr():
                self.profiler.start()

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.profiler is not None:
            with no_stderr():
                self.profiler.stop()


def peak_memory_mib(runner: MtlkitRunner, steps: int = 2) -> float:
    """Peak of the tensor memory allocated during ``steps`` training steps (after a first one, which holds the
    optimizer's set-up and the monitor), above the level when they started (weights, optimizer state, what earlier
    measurements left): the maximum of the profiler's "Total Allocated" over its memory events, less its value at
    the start (the first event's total less its own bytes)."""
    probe = MemoryProbe()
    runner.trainer.callbacks.append(probe)
    try:
        runner.block(steps + 1)
    finally:
        runner.trainer.callbacks.remove(probe)
    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / "trace.json"
        probe.profiler.export_chrome_trace(str(trace))
        events = json.loads(trace.read_text())["traceEvents"]
    mem = sorted((e for e in events if e.get("name") == "[memory]"), key=lambda e: e["ts"])
    if not mem:
        return 0.0
    start = mem[0]["args"]["Total Allocated"] - mem[0]["args"]["Bytes"]
    return (max(e["args"]["Total Allocated"] for e in mem) - start) / 2**20


class PlainRunner:
    """The references: a plain PyTorch loop on the ew module (same weights, batch, loss and AdamW)."""

    def __init__(self, name: str, cfg: DictConfig, dm: Any, batch: dict[str, torch.Tensor], per_task: bool):
        ew = compose_cfg(base_overrides(len(dm.tasks), Path(cfg.data.cache_dir)), Path(cfg.paths.output_dir))
        torch.manual_seed(ew.seed)
        self.module = build_module(ew, dm.input_shape, dm.tasks)
        self.module.train()
        self.optimizer = instantiate(ew.optimizer)(params=self.module.parameters())
        self.batch, self.name, self.per_task = batch, name, per_task
        self.family = "reference"

    def step(self) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        losses = self.module.task_losses(self.batch)
        if self.per_task:
            shares = losses.shares()
            for j in range(len(shares)):
                shares[j].backward(retain_graph=j < len(shares) - 1)
        else:
            losses.combine().backward()
        self.optimizer.step()

    def block(self, n: int) -> Steps:
        times = []
        for _ in range(n):
            t0, c0 = time.perf_counter(), time.process_time()
            self.step()
            times.append((time.perf_counter() - t0, time.process_time() - c0))
        return times[1:]


def libmtl_spec(cfg: DictConfig, dm: Any, batch: dict[str, torch.Tensor], path: Path) -> None:
    """Write what bench_libmtl.py needs: the ew module's initial encoder as a plain ``nn.Sequential`` (pickled
    torch modules only: LibMTL's venv has no mtlkit), the batch, the AdamW settings."""
    torch.manual_seed(cfg.seed)
    module = build_module(cfg, dm.input_shape, dm.tasks)
    backbone = module.backbone
    encoder = nn.Sequential(*copy.deepcopy(list(backbone.blocks)), copy.deepcopy(backbone.pool))
    with torch.no_grad():
        same = torch.equal(copy.deepcopy(encoder).eval()(batch["x"]), copy.deepcopy(backbone).eval()(batch["x"]))
    if not same:
        raise RuntimeError("the plain copy of the backbone does not compute the same features")
    optim = {k: v for k, v in cfg.optimizer.items() if not str(k).startswith("_")}
    torch.save(
        {
            "encoder": encoder,
            "feature_dim": backbone.feature_dim,
            "tasks": list(dm.tasks),
            "batch": {k: batch[k] for k in ("x", "y", "mask")},
            "optimizer": optim,
            "seed": int(cfg.seed),
        },
        path,
    )


def run_libmtl(python: str, spec: Path, methods: list[str], steps: int, seed: int, timeout: float) -> dict:
    """One round of bench_libmtl.py in LibMTL's venv: ``{class: {"times": [...], "cpu_times": [...], "error"}}``."""
    out = spec.with_suffix(f".round{seed}.json")
    cmd = [python, str(SCRIPTS / "bench_libmtl.py"), "--spec", str(spec), "--methods", *methods]
    cmd += ["--steps", str(steps), "--seed", str(seed), "--out", str(out), "--threads", str(torch.get_num_threads())]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {m: {"times": [], "error": f"round timed out after {timeout:.0f} s"} for m in methods}
    if proc.returncode != 0 or not out.is_file():
        err = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        return {m: {"times": [], "error": f"bench_libmtl.py failed: {err[0]}"} for m in methods}
    return json.loads(out.read_text())


CLOCKS = ("cpu", "wall")


def median_ratio(a: list[float | None], b: list[float | None]) -> float | None:
    """The median over rounds of ``a[r] / b[r]`` (rounds where either is missing are left out)."""
    pairs = [x / y for x, y in zip(a, b) if x is not None and y]
    return statistics.median(pairs) if pairs else None


def median_ms(blocks: list[float | None], times: list[float]) -> float | None:
    return 1000 * statistics.median(times) if times and any(b is not None for b in blocks) else None


def bench_tasks(tasks: int, methods: list[str], args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Every method (and the references, and LibMTL) side by side at ``tasks`` tasks."""
    cache_dir, out_dir = workdir / "cache", workdir / f"out{tasks}"
    cfg, dm, batch = load_batch(tasks, cache_dir, out_dir)
    print(f"\n## T = {tasks}: batch {tuple(batch['x'].shape)}, {batch['mask'].float().mean():.0%} labelled", flush=True)
    res: dict[str, dict[str, Any]] = {}
    runners: dict[str, Any] = {}
    for name in methods:
        if not available(name):
            res[name] = {"status": f"not available (no conf/weighting/{name}.yaml)"}
            continue
        try:
            mcfg = compose_cfg(base_overrides(tasks, cache_dir) + method_overrides(name), out_dir)
            runners[name] = MtlkitRunner(name, mcfg, dm, batch)
            res[name] = {"status": "ok", "family": runners[name].family}
        except Exception as exc:  # a method being written right now: report it, go on
            res[name] = {"status": f"not available (build failed: {type(exc).__name__}: {exc})"[:300]}
    for ref, per_task in ((REF_ONE, False), (REF_T, True)):
        runners[ref] = PlainRunner(ref, cfg, dm, batch, per_task)
        res[ref] = {"status": "ok", "family": "reference"}
    for r in res.values():
        r.update({c: [] for c in CLOCKS}, blocks={c: [] for c in CLOCKS})

    lib_methods = [LIBMTL[m] for m in methods if m in LIBMTL] + (LIBMTL_EXTRA if "cagrad" in methods else [])
    lib: dict[str, dict[str, Any]] = {
        m: {c: [] for c in CLOCKS} | {"blocks": {c: [] for c in CLOCKS}} for m in lib_methods
    }
    spec = workdir / f"libmtl_spec_T{tasks}.pt"
    if args.libmtl_python and lib_methods:
        libmtl_spec(cfg, dm, batch, spec)

    for rnd in range(-2, args.repeats):  # rounds -2 and -1: warm-up (epochs 0 and 1), not counted
        order = list(runners)
        random.Random(1000 * tasks + rnd).shuffle(order)
        t_round = time.perf_counter()
        for name in order:
            r = res[name]
            if r["status"] != "ok":
                continue
            try:
                steps = runners[name].block(2 if rnd < 0 else args.steps + 2)
            except Exception as exc:
                r["status"] = f"failed: {type(exc).__name__}: {exc}"[:300]
                continue
            if rnd >= 0:
                for i, c in enumerate(CLOCKS[::-1]):  # steps are (wall, cpu)
                    r[c] += [st[i] for st in steps]
                    r["blocks"][c].append(statistics.median(st[i] for st in steps))
        for r in res.values():  # a method that failed in this round: keep the rounds aligned
            for c in CLOCKS:
                if rnd >= 0 and len(r["blocks"][c]) < rnd + 1:
                    r["blocks"][c].append(None)
        lib_note = ""
        active = [m for m in lib_methods if not (lib[m].get("error") and not lib[m]["wall"])]  # failed: not again
        if args.libmtl_python and active and rnd >= 0:
            out = run_libmtl(args.libmtl_python, spec, active, args.steps + 1, rnd, args.libmtl_timeout)
            for m in lib_methods:
                got = out.get(m, {"error": lib[m].get("error") or "missing from the output"})
                for c, key in (("wall", "times"), ("cpu", "cpu_times")):
                    times = got.get(key) or []
                    lib[m][c] += times
                    lib[m]["blocks"][c].append(statistics.median(times) if times else None)
                if got.get("error"):
                    lib[m]["error"] = got["error"]
            lib_note = ", LibMTL round done"
        label = "warm-up" if rnd < 0 else f"round {rnd + 1}/{args.repeats}"
        load = os.getloadavg()[0]
        print(f"  {label}: {time.perf_counter() - t_round:.0f} s, load average {load:.1f}{lib_note}", flush=True)

    for v in lib.values():
        v["stats"] = {
            c: {
                "median_ms": median_ms(v["blocks"][c], v[c]),
                "ratio_EW": median_ratio(v["blocks"][c], lib["EW"]["blocks"][c]) if "EW" in lib else None,
            }
            for c in CLOCKS
        }
    for name, r in res.items():
        if not r["wall"]:
            continue
        r["stats"] = {}
        for c in CLOCKS:
            st: dict[str, Any] = {"median_ms": median_ms(r["blocks"][c], r[c])}
            st["ratio_ew"] = median_ratio(r["blocks"][c], res["ew"]["blocks"][c]) if "ew" in res else None
            st["ratio_T_backward"] = median_ratio(r["blocks"][c], res[REF_T]["blocks"][c])
            for key, m in (("libmtl", LIBMTL.get(name)), ("libmtl_patched", "CAGrad_T" if name == "cagrad" else None)):
                if args.libmtl_python and m in lib:
                    st[key] = {
                        "class": m,
                        "median_ms": lib[m]["stats"][c]["median_ms"],
                        "ratio_EW": lib[m]["stats"][c]["ratio_EW"],
                        "mtlkit_over_libmtl": median_ratio(r["blocks"][c], lib[m]["blocks"][c]),
                        "error": lib[m].get("error"),
                    }
            r["stats"][c] = st
    if not args.no_memory:
        print("  peak memory (torch profiler) ...", flush=True)
        for name in [m for m in methods if res[m]["status"] == "ok"]:
            res[name]["peak_mib"] = peak_memory_mib(runners[name])
    return {"tasks": tasks, "methods": res, "libmtl": lib if args.libmtl_python else None}


def fmt(x: Any, spec: str = ".2f") -> str:
    return "–" if x is None else (format(x, spec) if isinstance(x, (int, float)) else str(x))


def _lib_cell(st: dict[str, Any], field: str) -> str:
    """A LibMTL cell: the figure, "fails" (the error is in the notes under the table, with the figure of the
    patched variant where there is one), or – (LibMTL 1.1.5 has no such method)."""
    lib = st.get("libmtl")
    if not lib:
        return "–"
    if lib.get(field) is not None:
        return fmt(lib[field])
    patched = st.get("libmtl_patched") or {}
    return "fails" + (f" (patched: {fmt(patched[field])})" if patched.get(field) is not None else "")


def table(results: list[dict[str, Any]], methods: list[str], libmtl: bool, clock: str) -> str:
    """The markdown tables of docs/benchmarks.md: ratios, memory, LibMTL; then the step times in both clocks."""
    by_t = {r["tasks"]: r["methods"] for r in results}
    ts = sorted(by_t)
    head = ["method", "family"] + [f"T={t} / ew" for t in ts] + [f"T={t} / T backward" for t in ts]
    head += [f"peak step memory T={t} (MiB)" for t in ts]
    if libmtl:
        head += ["LibMTL class"] + [f"LibMTL T={t} / its EW" for t in ts] + [f"mtlkit / LibMTL T={t}" for t in ts]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 2 + "---:|" * (len(head) - 2)]
    for name in methods + [REF_ONE, REF_T]:
        rows = [by_t[t].get(name, {}) for t in ts]
        if not any(rows):
            continue
        fam = next((r["family"] for r in rows if r.get("family")), "")
        fam = fam or ("loss" if name in LOSS_METHODS else "gradient" if name in GRADIENT_METHODS else "")
        if all(r.get("status", "ok") != "ok" for r in rows):
            status = next((r["status"] for r in rows if r.get("status")), "")
            lines.append(f"| {name} | {fam} | {status} |" + " |" * (len(head) - 3))
            continue
        sts = [r.get("stats", {}).get(clock, {}) for r in rows]
        cells = [name, fam]
        cells += [fmt(st.get("ratio_ew")) for st in sts] + [fmt(st.get("ratio_T_backward")) for st in sts]
        cells += [fmt(r.get("peak_mib"), ".1f") for r in rows]
        if libmtl:
            cells += [LIBMTL.get(name, "–")]
            cells += [_lib_cell(st, "ratio_EW") for st in sts]
            cells += [_lib_cell(st, "mtlkit_over_libmtl") for st in sts]
        lines.append("| " + " | ".join(cells) + " |")
    out = "\n".join(lines)
    cols = [f"mtlkit T={t} {c}" for t in ts for c in CLOCKS]
    if libmtl:
        cols += [f"LibMTL T={t} {c}" for t in ts for c in CLOCKS]
    steps = ["| method | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    for name in methods + [REF_ONE, REF_T]:
        rows = [by_t[t].get(name, {}) for t in ts]
        if not any(r.get("wall") for r in rows):
            continue
        cells = [name] + [fmt(r.get("stats", {}).get(c, {}).get("median_ms"), ".0f") for r in rows for c in CLOCKS]
        if libmtl:
            cells += [
                fmt((r.get("stats", {}).get(c, {}).get("libmtl") or {}).get("median_ms"), ".0f")
                for r in rows
                for c in CLOCKS
            ]
        steps.append("| " + " | ".join(cells) + " |")
    out += "\n\nMedian step time (ms; cpu: the process's CPU time, all its threads; wall: wall clock):\n\n"
    out += "\n".join(steps)
    if libmtl:
        notes = []
        for r in results:
            for m, v in (r.get("libmtl") or {}).items():
                st = v["stats"][clock]
                if v.get("error") or m not in LIBMTL.values():
                    err = f"; error: {v['error']}" if v.get("error") else ""
                    notes.append(
                        f"- LibMTL {m}, T={r['tasks']}: {fmt(st['median_ms'], '.0f')} ms ({clock}), "
                        f"{fmt(st['ratio_EW'])} x its EW{err}"
                    )
        out += "\n\n" + "\n".join(notes) if notes else ""
    return out


def fix_malloc() -> None:
    """Re-run this script with glibc's malloc thresholds fixed (inherited by the LibMTL and memory processes).

    With glibc's adaptive defaults, whether a training step's large buffers are handed back to the kernel (and
    page-faulted in again at the next step) depends on what the process imported: the same loop measured here
    took 12k minor page faults per step in a bare process and 53k after ``import pytorch_lightning``, up to a
    third of the step in system time. Fixed thresholds put mtlkit's and LibMTL's processes in the same regime
    (no page faults in steady state); ``--malloc default`` keeps glibc's behaviour.
    """
    if all(os.environ.get(k) == v for k, v in MALLOC_FIXED.items()):
        return
    os.environ.update(MALLOC_FIXED)
    os.execv(sys.executable, [sys.executable, *sys.argv])


def representation_cosines(methods: list[str], batches: int, workdir: Path) -> list[dict[str, Any]]:
    """Exact direction against ``weighting.jacobian=representation``'s, on the shared parameters, for the first
    ``batches`` training batches of the default data (its composed config; initial weights, one forward per batch:
    the representation direction is backpropagated through the backbone by hand). Also ew's gradient (the sum of
    the rows) against the exact direction, for scale."""
    from mtlkit.objective.representation_gradients import representation_gradients

    rows = []
    cfg = compose_cfg(EXTRA_OVERRIDES + [f"data.cache_dir={workdir / 'cache'}", "logger=none"], workdir / "cos")
    with contextlib.redirect_stdout(io.StringIO()):
        dm = build_datamodule(cfg.data)
    for name in methods:
        mcfg = compose_cfg(
            EXTRA_OVERRIDES + [f"data.cache_dir={workdir / 'cache'}", f"weighting={name}"], workdir / name
        )
        torch.manual_seed(cfg.seed)
        module = build_module(mcfg, dm.input_shape, dm.tasks, label_counts=dm.label_counts())
        module.train()
        torch.manual_seed(cfg.seed)
        for i, batch in enumerate(dm.train_dataloader()):
            if i >= batches:
                break
            losses = module.task_losses(batch)
            shared = module.shared_parameters()
            jacobian = losses.jacobian()
            exact = module.weighting.aggregate(jacobian, losses)
            local, _ = representation_gradients(losses.shares(), losses.features)
            d = module.weighting.aggregate(local, losses).view_as(losses.features)
            grads = torch.autograd.grad(losses.features, shared, grad_outputs=d, retain_graph=True)
            approx = torch.cat([g.reshape(-1) for g in grads])
            ew = jacobian.sum(0)
            rows.append(
                {
                    "method": name,
                    "batch": i,
                    "cos": float(torch.nn.functional.cosine_similarity(exact, approx, dim=0)),
                    "norm_ratio": float(approx.norm() / exact.norm()),
                    "cos_ew": float(torch.nn.functional.cosine_similarity(exact, ew, dim=0)),
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, nargs="+", default=[4, 40], help="numbers of tasks (default: 4 40)")
    parser.add_argument("--methods", nargs="+", default=METHODS, help="weighting names (default: all 19)")
    parser.add_argument("--repeats", type=int, default=5, help="counted rounds (default 5)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per method per round (default 5)")
    parser.add_argument("--out", help="write every figure (and the raw step times) to this JSON file")
    parser.add_argument("--libmtl-python", help="python of LibMTL's venv (default: LibMTL is skipped)")
    parser.add_argument("--libmtl-timeout", type=float, default=1800, help="seconds per LibMTL round")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurement")
    parser.add_argument("--from-json", help="print the tables of a results file written by --out, and stop")
    parser.add_argument(
        "--malloc", choices=["fixed", "default"], default="fixed", help="glibc malloc thresholds (see fix_malloc)"
    )
    parser.add_argument(
        "--threads", type=int, help="torch threads here and in LibMTL's process (default: torch's, one per core)"
    )
    parser.add_argument(
        "--clock", choices=CLOCKS, default="cpu", help="what the ratios of the first table use (default: cpu)"
    )
    parser.add_argument("--overrides", nargs="*", default=[], help="config overrides for every method (model=...)")
    parser.add_argument(
        "--cosines", type=int, metavar="N", help="only compare exact and representation directions on N batches"
    )
    args = parser.parse_args()
    EXTRA_OVERRIDES.extend(args.overrides)
    if args.cosines:
        quiet()
        with tempfile.TemporaryDirectory(prefix="bench_cos_") as tmp:
            found = representation_cosines([m for m in args.methods if m != "ew"], args.cosines, Path(tmp))
        print("| method | batches | cosine exact vs representation: median (min-max) | norm ratio median | "
              "cosine exact vs ew median |\n|---|---:|---:|---:|---:|")  # fmt: skip
        for name in dict.fromkeys(r["method"] for r in found):
            rs = [r for r in found if r["method"] == name]
            cos = [r["cos"] for r in rs]
            print(
                f"| {name} | {len(rs)} | {statistics.median(cos):.3f} ({min(cos):.3f}-{max(cos):.3f}) | "
                f"{statistics.median(r['norm_ratio'] for r in rs):.2f} | "
                f"{statistics.median(r['cos_ew'] for r in rs):.3f} |"
            )
        return
    if args.from_json:
        saved = json.loads(Path(args.from_json).read_text())
        print(saved["machine"])
        used = saved["args"]
        print(table(saved["results"], used["methods"], bool(used["libmtl_python"]), args.clock))
        return
    if args.malloc == "fixed":
        fix_malloc()
    quiet()
    if args.threads:
        torch.set_num_threads(args.threads)
    if "ew" not in args.methods:
        args.methods = ["ew"] + args.methods
    unknown = [m for m in args.methods if m.removesuffix(REPRESENTATION) not in METHODS]
    if unknown:
        print(f"note: {unknown} are not among the issue's 19 methods; run anyway if their config exists")
    machine = (
        f"torch {torch.__version__}, lightning {pl.__version__}, {torch.get_num_threads()} threads, "
        f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, load average "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} at start, malloc {args.malloc}"
    )
    print(machine)
    if not args.libmtl_python:
        print("LibMTL: skipped (give --libmtl-python PATH, see scripts/bench_libmtl.py for the venv)")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench_weighting_") as tmp:
        results = [bench_tasks(t, args.methods, args, Path(tmp)) for t in args.tasks]
    print(f"\n{machine}; load average at the end {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"total {time.perf_counter() - t0:.0f} s\n")
    print(table(results, args.methods, bool(args.libmtl_python), args.clock))
    if args.out:
        Path(args.out).write_text(json.dumps({"machine": machine, "args": vars(args), "results": results}, indent=1))


if __name__ == "__main__":
    main()
