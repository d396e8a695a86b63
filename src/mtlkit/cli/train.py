"""``mtlkit-train``: compose the Hydra config, run the chosen approach, write results.json.

Every error caused by the command (a bad value, a typo in a key, a run folder that must not be changed, a machine
that cannot run the config) ends in one line per problem on stderr, ``mtlkit-train: error: ...``, and exit code 2,
before anything is written when it can be known then (:mod:`mtlkit.runtime.preflight`). A bug keeps its traceback.
"""

from __future__ import annotations

import os
import signal
import sys
from contextlib import nullcontext
from pathlib import Path

import hydra
from omegaconf import DictConfig

from mtlkit.config import CONFIG_DIR
from mtlkit.errors import MtlkitError, user_error
from mtlkit.errors import report as _report

PROG = "mtlkit-train"
_FULL_ERROR = "HYDRA_FULL_ERROR"


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def _main(cfg: DictConfig) -> float | None:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from mtlkit.run import optimized_metric, train
    from mtlkit.runtime.console_log import console_log
    from mtlkit.runtime.run_folder import restore_run_folder

    log_file = Path(str(cfg.paths.output_dir)) / f"{HydraConfig.get().job.name}.log"
    with console_log(log_file) if _rank() == 0 else nullcontext():
        try:
            results = train(cfg)
        except Exception as exc:
            err = user_error(exc)
            if err is None or HydraConfig.get().mode == RunMode.MULTIRUN:
                raise  # a bug (full traceback), or a sweep job whose failure is recorded and the sweep goes on
            _report(err)
            restore_run_folder()  # a refused command changes nothing in a folder that held a run (its log too)
            sys.exit(2)
    return optimized_metric(cfg, results)


def _rank() -> int:
    from lightning_fabric.utilities.rank_zero import _get_rank

    return _get_rank() or 0  # for Hydra sweepers that optimise a value (hparams_search=optuna)


def _handle_hydra_error(exc: BaseException, argv: list[str]) -> str | None:
    """One line for an error of Hydra's own (a typo in a key or an option, an override that does not parse)."""
    from mtlkit.config_checks.hydra_errors import describe_hydra_error

    return describe_hydra_error(exc, argv)


def _summarise_failed_sweep() -> str | None:
    """After a multirun in which a job failed (Hydra then skips its end-of-sweep callbacks): the summary table
    and summary.csv all the same, and one line saying how many jobs failed. None outside a multirun."""
    from mtlkit.runtime import preflight

    sweep_dir = preflight.SWEEP_DIR
    if sweep_dir is None or not sweep_dir.is_dir():
        return None
    from mtlkit.runtime.run_folder import run_status
    from mtlkit.sweeps.summary import print_summary

    try:
        print_summary(sweep_dir)
    except Exception as e:  # noqa: BLE001 - never hide the jobs' own error behind this one
        print(f"{PROG}: could not write the summary of {sweep_dir}: {e}", file=sys.stderr)
    jobs = [p for p in sweep_dir.iterdir() if p.is_dir() and (p / ".hydra").is_dir()]
    failed = [p.name for p in jobs if run_status(p) != "completed"]
    names = ", ".join(sorted(failed))
    return f"{len(failed)} of {len(jobs)} job(s) failed ({names}; see results.json in their folders)"


def _interrupted() -> bool:
    """Whether Ctrl-C stopped training (the last-checkpoint callback, imported only once training was set up)."""
    last_checkpoint = sys.modules.get("mtlkit.runtime.last_checkpoint")
    return last_checkpoint is not None and last_checkpoint.INTERRUPTED


def main() -> float | None:
    """Entry point; ``resume=RUN_DIR`` is first expanded into that run's command (:mod:`mtlkit.runtime.resume`).

    ``sys.argv`` itself is rewritten, because DDP re-launches this command line for its other processes.
    """
    if any(arg.startswith("resume=") for arg in sys.argv[1:]):  # the resume module imports torch: only when used
        from mtlkit.runtime.resume import expand_resume_argument

        try:
            sys.argv[:] = expand_resume_argument(sys.argv)
        except MtlkitError as e:
            _report(e)
            sys.exit(2)
    user_wants_traces = os.environ.get(_FULL_ERROR) == "1"
    os.environ[_FULL_ERROR] = "1"  # Hydra raises its errors here instead of printing them: one line each below
    try:
        return _main()
    except SystemExit as e:
        if type(e).__name__ == "SIGTERMException":  # Lightning stopped on SIGTERM (checkpoint saved)
            sys.exit(128 + signal.SIGTERM)
        if _interrupted():  # Ctrl-C: Lightning exits with 1; the resume hint is printed
            sys.exit(128 + signal.SIGINT)
        raise
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted", file=sys.stderr)
        sys.exit(128 + signal.SIGINT)
    except Exception as exc:
        failed_sweep = _summarise_failed_sweep()
        if user_wants_traces:
            raise
        if failed_sweep:
            _report(f"{failed_sweep}; the first: {type(exc).__name__}: {str(exc).strip().splitlines()[0]}")
            sys.exit(1)
        err = user_error(exc)
        message = str(err) if err is not None else _handle_hydra_error(exc, sys.argv[1:])
        if message is None:
            raise  # a bug: its traceback
        from mtlkit.runtime.run_folder import restore_run_folder

        restore_run_folder()
        _report(message)
        sys.exit(2)


if __name__ == "__main__":
    main()
