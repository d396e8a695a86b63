"""Puts a source checkout's experiment presets (``experiments/conf/experiment/``) on Hydra's config search path, so
that ``mtlkit-train experiment=NAME`` finds them; only when mtlkit's own ``conf/`` is the primary config, and only
where that folder exists (an installed mtlkit has none: ``experiment=NAME`` then fails with one line saying so)."""

from __future__ import annotations

from pathlib import Path

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin

# src/hydra_plugins/mtlkit_experiments/searchpath.py -> the checkout (mtlkit.config.EXPERIMENTS_CONFIG_DIR, same path;
# computed here so that a Hydra app of another project does not import mtlkit)
_CHECKOUT = Path(__file__).resolve().parents[3]
_MTLKIT_CONF = _CHECKOUT / "conf"
EXPERIMENTS_CONF = _CHECKOUT / "experiments" / "conf"


class MtlkitExperimentsSearchPath(SearchPathPlugin):
    """Appends ``file://<checkout>/experiments/conf`` after mtlkit's ``conf/`` (which therefore wins a clash)."""

    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        ours = {str(_MTLKIT_CONF), f"file://{_MTLKIT_CONF}"}
        if EXPERIMENTS_CONF.is_dir() and any(entry.path in ours for entry in search_path.get_path()):
            search_path.append(provider="mtlkit-experiments", path=f"file://{EXPERIMENTS_CONF}")
