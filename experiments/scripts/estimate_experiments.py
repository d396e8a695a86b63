"""Estimate (not measure) how long experiments/scripts/run_experiments.sh takes on the 2-core development machine.

    python experiments/scripts/estimate_experiments.py                      # jobs and estimated minutes per experiment
    python experiments/scripts/estimate_experiments.py --where model.width=16  # only these jobs (what a cut would save)

Reads every part of every experiment (experiments/conf/experiment/*.yaml: its sweep and its data, model and
budget) and prices each job with the figures of docs/benchmarks.md and the assumptions below; trains nothing. The
driver records the real wall times in experiments/results/timings.md, which replace these estimates.
"""

from __future__ import annotations

import argparse
import math
import os
from collections import defaultdict

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf, open_dict

from mtlkit.config import CONFIG_DIR, EXPERIMENTS_CONFIG_DIR
from mtlkit.report.collect import canonical, parse_overrides, sweep_jobs

# docs/benchmarks.md (2 cores, CNN width 32 / depth 4, batch 128, 32 px)
TRAIN_SAMPLES_PER_S = 2510  # mtlkit LightningModule + Trainer
EVAL_SAMPLES_PER_S = 4000 / 1.1  # the default run evaluated val + test (4,000 images) in 1.1 s
GENERATED_IMAGES_PER_S = 16100  # the scene generator, 32 px (noise images: counted the same)
# Assumptions (not in docs/benchmarks.md)
WIDTH_FLOOR = 0.1  # per-sample time scales with (width / 32)^2, but not below this share (loop overhead)
EPOCH_OVERHEAD_S = 0.05  # per epoch: loop, last.ckpt written at every epoch end (matters for 1-batch epochs)
JOB_OVERHEAD_S = 2.0  # per job in a sweep: trainer, loading the best checkpoint, results.json
PART_STARTUP_S = 6.0  # per sweep process: Python, torch, Lightning, Hydra
REPORT_S = 5.0  # mtlkit-report with its plots, per experiment
PRICED_KEYS = ("data.num_train", "data.tasks", "model.width")  # the swept keys that change a job's cost


def _compose(overrides: list[str]):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=overrides, return_hydra_config=True)
    return cfg


def job_seconds(cfg, job: dict) -> float:
    """Estimated wall time of one job: its first composed config with the job's plain overrides applied."""
    cfg = OmegaConf.create(OmegaConf.to_container(cfg))
    for key in PRICED_KEYS:
        if key in job:
            OmegaConf.update(cfg, key, job[key])
    data, trainer = cfg.data, cfg.trainer
    n, batch = int(data.num_train), int(data.batch_size)
    batches = math.ceil(n / batch)
    max_steps = int(trainer.get("max_steps") or -1)
    if max_steps > 0 and int(trainer.max_epochs) < 0:
        steps, epochs = max_steps, math.ceil(max_steps / batches)
        validations = max_steps // int(trainer.val_check_interval)
    else:
        epochs = int(trainer.max_epochs)
        steps, validations = epochs * batches, epochs
    samples = steps * n / batches
    approach = job.get("approach", cfg.approach.name)
    tasks = data.get("tasks") or job.get("data.tasks")
    n_tasks = len(tasks) if tasks else int(data.get("num_classes") or data.get("num_tasks") or 1)
    networks = n_tasks if approach == "separate" else 1
    width = float(cfg.model.get("width", 32))
    cost = networks * max((width / 32) ** 2, WIDTH_FLOOR)
    eval_samples = validations * data.num_val + data.num_val + data.num_test
    generated = n + data.num_val + data.num_test
    return (
        cost * (samples / TRAIN_SAMPLES_PER_S + eval_samples / EVAL_SAMPLES_PER_S)
        + epochs * EPOCH_OVERHEAD_S
        + generated / GENERATED_IMAGES_PER_S
        + JOB_OVERHEAD_S
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--where", nargs="+", default=[], metavar="KEY=VALUE", help="price only the jobs with these values")
    args = p.parse_args()
    where = {k: canonical(v) for k, v in parse_overrides(args.where).items()}
    os.environ.setdefault("MTLKIT_SWEEP_ROOT", "sweep_root")  # only names checkpoint paths here
    jobs_of: dict[str, int] = defaultdict(int)
    seconds: dict[str, float] = defaultdict(float)
    for path in sorted((EXPERIMENTS_CONFIG_DIR / "experiment").glob("*.yaml")):
        part = path.stem
        name = part.split("__")[0]
        cfg = _compose([f"experiment={part}"])
        jobs = sweep_jobs(OmegaConf.to_container(cfg.hydra.sweeper.params) or {})
        first_job = jobs[0]
        jobs = [j for j in jobs if all(k in j and canonical(j[k]) == v for k, v in where.items())]
        if not jobs:
            continue
        first = _compose([f"experiment={part}", *(f"{k}={v}" for k, v in first_job.items())])
        with open_dict(first):
            first.paths.output_dir = "/run"
            first.pop("hydra")
        first = OmegaConf.create(OmegaConf.to_container(first, resolve=True, throw_on_missing=False))
        jobs_of[name] += len(jobs)
        seconds[name] += (0 if where else PART_STARTUP_S) + sum(job_seconds(first, job) for job in jobs)
    report_s = 0 if where else REPORT_S  # --where: the jobs alone
    print("| experiment | jobs | estimated minutes |\n|---|---:|---:|")
    for name in sorted(seconds):
        print(f"| {name} | {jobs_of[name]} | {(seconds[name] + report_s) / 60:.1f} |")
    total = sum(seconds.values()) + report_s * len(seconds)
    print(f"| total | {sum(jobs_of.values())} | {total / 60:.0f} |")


if __name__ == "__main__":
    main()
