"""``mtlkit-train``: compose the Hydra config, run the chosen approach, write results.json."""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from mtlkit.config import CONFIG_DIR
from mtlkit.errors import user_error


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def main(cfg: DictConfig) -> float | None:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from mtlkit.pipeline import train

    try:
        results = train(cfg)
    except Exception as exc:
        err = user_error(exc)
        if err is None or HydraConfig.get().mode == RunMode.MULTIRUN:
            raise  # a bug (full traceback), or a sweep job whose failure Hydra records
        print(f"mtlkit-train: error: {err}", file=sys.stderr)
        sys.exit(2)
    macro = results.get("metrics", {}).get("val", {}).get("macro", {})
    return macro.get("auroc")  # for Hydra sweepers that optimise a value


if __name__ == "__main__":
    main()
