"""Hydra callback that records a failed job of a sweep (``hydra.callbacks`` in conf/hydra/default.yaml)."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from mtlkit.evaluation.results import RESULTS_FILE, write_results


def _is_rank_zero() -> bool:
    from lightning_fabric.utilities.rank_zero import _get_rank

    return (_get_rank() or 0) == 0


class RecordFailedJob(Callback):
    """When a job fails, write ``results.json`` with ``"status": "failed"`` and the error into its folder, and
    close its wandb run; the other jobs of the sweep go on (Hydra runs them all, then exits with an error).

    A folder that already holds a ``results.json`` keeps it: the record then goes to ``failure.json``.
    """

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        if job_return.status != JobStatus.FAILED or not _is_rank_zero():
            return
        _finish_wandb(exit_code=1)
        error = job_return._return_value
        task_cfg = job_return.cfg if job_return.cfg is not None else config
        out_dir = Path(job_return.hydra_cfg.hydra.runtime.output_dir) if job_return.hydra_cfg else Path.cwd()
        record = {
            "status": "failed",
            "error": {
                "type": type(error).__name__,
                "message": str(error),
                "traceback": "".join(traceback.format_exception(error)) if isinstance(error, BaseException) else "",
            },
            "approach": OmegaConf.select(task_cfg, "approach.name", default=None),
            "seed": OmegaConf.select(task_cfg, "seed", default=None),
            "overrides": list(job_return.overrides or []),
        }
        path = out_dir / (RESULTS_FILE if not (out_dir / RESULTS_FILE).exists() else "failure.json")
        try:
            write_results(record, out_dir) if path.name == RESULTS_FILE else _write_json(record, path)
        except OSError as e:  # never hide the job's own error behind this one
            print(f"could not record the failure in {path}: {e}", file=sys.stderr)
            return
        print(f"[mtlkit] job failed ({type(error).__name__}: {error}); recorded in {path}", file=sys.stderr)


def _write_json(record: dict, path: Path) -> None:
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, default=str))


def _finish_wandb(exit_code: int) -> None:
    """End a wandb run the failed job left open, so that the next job does not log into it."""
    wandb = sys.modules.get("wandb")
    if wandb is not None and getattr(wandb, "run", None) is not None:
        wandb.finish(exit_code=exit_code)
