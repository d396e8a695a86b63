"""``mtlkit-train``: compose the Hydra config, run the chosen approach, write results.json."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from mtlkit.config import CONFIG_DIR


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def main(cfg: DictConfig) -> float | None:
    from mtlkit.pipeline import train

    results = train(cfg)
    macro = results.get("metrics", {}).get("val", {}).get("macro", {})
    return macro.get("auroc")  # for Hydra sweepers that optimise a value


if __name__ == "__main__":
    main()
