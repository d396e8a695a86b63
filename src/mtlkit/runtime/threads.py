"""CPU threads of a sweep's jobs that run side by side (Hydra's joblib launcher, ``hydra/launcher=parallel``).

PyTorch starts one OpenMP thread per core in every process. Two such processes on the same cores take turns on
them, and OpenMP threads that wait spin instead of sleeping: on a 2-core machine a run took 2.4-9x longer while
another ran beside it. :class:`ThreadsPerJob`, a Hydra callback (conf/hydra/default.yaml), gives each job of a
parallel sweep ``cores // parallel jobs`` threads (at least 1) before the job starts; sequential sweeps and single
runs keep PyTorch's default. Measured in docs/benchmarks.md ("Parallel sweep jobs and threads").
"""

from __future__ import annotations

import os
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

PARALLEL_LAUNCHERS = ("joblib",)  # launchers whose jobs run at the same time on this machine


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity), else the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def parallel_jobs(launcher: DictConfig | dict | None, cores: int) -> int:
    """How many jobs ``launcher`` runs at once on this machine: 1 unless it is a local parallel launcher.

    joblib's ``n_jobs``: a positive count, or ``-k`` for ``cores + 1 - k`` (``-1``: one job per core).
    """
    target = str((launcher or {}).get("_target_") or "")
    if not any(name in target.lower() for name in PARALLEL_LAUNCHERS):
        return 1
    n_jobs = int((launcher or {}).get("n_jobs") or 1)
    if n_jobs < 0:
        n_jobs = cores + 1 + n_jobs
    return max(1, n_jobs)


def threads_per_job(cores: int, jobs: int) -> int:
    """``cores // jobs``, at least 1."""
    return max(1, cores // max(1, jobs))


class ThreadsPerJob(Callback):
    """Hydra callback: in a parallel sweep, set ``torch.set_num_threads(cores // jobs)`` as each job starts.

    Args:
        threads: threads per job instead (``hydra.callbacks.threads_per_job.threads=N``); null: cores // jobs.
    """

    def __init__(self, threads: int | None = None):
        self.threads = threads

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        launcher = (config.get("hydra") or {}).get("launcher")
        cores = available_cores()
        jobs = parallel_jobs(launcher, cores)
        if jobs == 1 and self.threads is None:
            return
        import torch

        threads = int(self.threads) if self.threads else threads_per_job(cores, jobs)
        torch.set_num_threads(threads)
        print(
            f"threads: {threads} per job ({cores} cores, {jobs} jobs at once; "
            "hydra.callbacks.threads_per_job.threads=N to change)",
            flush=True,
        )
