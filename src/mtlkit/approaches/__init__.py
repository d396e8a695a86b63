"""The approaches ``approach=`` chooses: multitask (in mtlkit.pipeline), separate and transfer.

Each is a function ``run(cfg, dm) -> dict`` that builds, trains and evaluates its networks on the data module
``dm`` and returns what goes into results.json (metrics with the same per-task keys for every approach).
"""

from __future__ import annotations

from omegaconf import DictConfig

from mtlkit.console import get_console


def note_unused_settings(cfg: DictConfig) -> None:
    """Say so when a fine-tuning strategy is chosen for an approach that does not fine-tune."""
    strategy = (cfg.get("finetune") or {}).get("strategy")
    if strategy and cfg.approach.name != "transfer":
        get_console().print(
            f"[yellow]note: finetune={strategy} is not used by approach={cfg.approach.name} "
            "(fine-tuning strategies apply to approach=transfer)"
        )
