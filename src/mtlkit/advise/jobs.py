"""Running ``mtlkit-advise``'s jobs: each one ``mtlkit-train`` in a subprocess with its own run folder, a progress
line per job with the time left, and finished runs reused (a second advise into the same folder trains nothing
that is already there)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mtlkit.console import get_console
from mtlkit.evaluation.results import RESULTS_FILE
from mtlkit.runtime.atomic_write import atomic_write_text

LOG_FILE = "advise_job.log"


@dataclass
class Job:
    """One ``mtlkit-train`` run: a label for the progress line, its overrides, its folder."""

    label: str
    overrides: list[str]
    run_dir: Path


def finished(run_dir: Path) -> bool:
    """Whether ``run_dir`` holds a completed run (results.json with status completed)."""
    path = run_dir / RESULTS_FILE
    try:
        return json.loads(path.read_text()).get("status") == "completed"
    except (OSError, ValueError):
        return False


def train_command(overrides: Sequence[str], run_dir: Path) -> list[str]:
    """The command line of one job."""
    return [sys.executable, "-m", "mtlkit.cli.train", *overrides, f"hydra.run.dir={run_dir}"]


def _last_error(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "Error" in ln or "error" in ln or "failed" in ln]
    return (errors or lines or ["no output"])[-1][:300]


STOP_GRACE_S = 30  # seconds an interrupted job gets to stop before it is killed


class JobsInterrupted(KeyboardInterrupt):
    """Ctrl-C during a job: the job was stopped; ``done`` of ``total`` jobs had finished (or been reused)."""

    def __init__(self, done: int, total: int):
        super().__init__(f"{done} of {total} jobs done")
        self.done, self.total = done, total


def _stop(proc: subprocess.Popen) -> None:
    """Stop an interrupted job: a Ctrl-C in the terminal reached it too, else it gets SIGINT now; killed if it is
    still running :data:`STOP_GRACE_S` later. Its output is drained meanwhile, so that it never blocks on a pipe."""
    for action in (None, signal.SIGINT, signal.SIGKILL):
        if action is not None:
            proc.send_signal(action)
        try:
            proc.communicate(timeout=2 if action is None else STOP_GRACE_S)
            return
        except subprocess.TimeoutExpired:
            continue


class Runner:
    """Runs jobs one after another and prints ``[i/n] label: done in 12 s (reused | failed: ...); about 3 min
    left`` (the time left from the mean time of the jobs trained so far)."""

    def __init__(self, total: int):
        self.total, self.done, self.trained_s, self.trained = total, 0, 0.0, 0

    def eta(self) -> str:
        if not self.trained:
            return ""
        left = (self.total - self.done) * self.trained_s / self.trained
        return f"; about {left / 60:.1f} min left" if left >= 60 else f"; about {left:.0f} s left"

    def run(self, job: Job) -> bool:
        """Run (or reuse) ``job``; True when its run folder holds a completed run afterwards."""
        console = get_console()
        self.done += 1
        prefix = f"[{self.done}/{self.total}] {job.label}"
        if finished(job.run_dir):
            console.print(f"{prefix}: reused ({job.run_dir}){self.eta()}", highlight=False)
            return True
        job.run_dir.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        returncode, output = self._train(job)
        seconds = time.perf_counter() - t0
        atomic_write_text(job.run_dir / LOG_FILE, output)
        self.trained_s += seconds
        self.trained += 1
        ok = returncode == 0 and finished(job.run_dir)
        status = "done" if ok else f"FAILED ({_last_error(output)}; log: {job.run_dir / LOG_FILE})"
        console.print(f"{prefix}: {status} in {seconds:.0f} s{self.eta()}", highlight=False, soft_wrap=True)
        return ok

    def _train(self, job: Job) -> tuple[int, str]:
        """Run the job's ``mtlkit-train``; on Ctrl-C, stop it (SIGINT, then SIGKILL after
        :data:`STOP_GRACE_S`) and raise :class:`JobsInterrupted` with how many jobs are done."""
        proc = subprocess.Popen(
            train_command(job.overrides, job.run_dir), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        try:
            output, _ = proc.communicate()
        except KeyboardInterrupt:
            _stop(proc)
            raise JobsInterrupted(self.done - 1, self.total) from None
        return proc.returncode, output
