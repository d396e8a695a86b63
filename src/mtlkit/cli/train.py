"""``mtlkit-train``: compose the Hydra config, run the chosen approach, write results.json."""

from __future__ import annotations

import signal
import sys

import hydra
from omegaconf import DictConfig

from mtlkit.config import CONFIG_DIR
from mtlkit.errors import user_error


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def _main(cfg: DictConfig) -> float | None:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from mtlkit.run import train

    try:
        results = train(cfg)
    except Exception as exc:
        err = user_error(exc)
        if err is None or HydraConfig.get().mode == RunMode.MULTIRUN:
            raise  # a bug (full traceback), or a sweep job whose failure is recorded and the sweep goes on
        print(f"mtlkit-train: error: {err}", file=sys.stderr)
        sys.exit(2)
    macro = results.get("metrics", {}).get("val", {}).get("macro", {})
    return macro.get("auroc")  # for Hydra sweepers that optimise a value


def main() -> float | None:
    """Entry point; ``resume=RUN_DIR`` is first expanded into that run's command (:mod:`mtlkit.runtime.resume`).

    ``sys.argv`` itself is rewritten, because DDP re-launches this command line for its other processes.
    """
    from mtlkit.errors import MtlkitError
    from mtlkit.runtime.resume import expand_resume_argument

    try:
        sys.argv[:] = expand_resume_argument(sys.argv)
    except MtlkitError as e:
        print(f"mtlkit-train: error: {e}", file=sys.stderr)
        sys.exit(2)
    try:
        return _main()
    except SystemExit as e:
        if type(e).__name__ == "SIGTERMException":  # Lightning stopped on SIGTERM (checkpoint saved)
            sys.exit(128 + signal.SIGTERM)
        raise


if __name__ == "__main__":
    main()
