"""The evidence's tests run in the product's test environment (tests/conftest.py: no network, wandb offline, caches
in temporary folders), and reach the drivers in experiments/scripts/."""

from __future__ import annotations

from tests.conftest import REPO, _isolated_dirs  # noqa: F401 - the autouse fixture applies here too

SCRIPTS = REPO / "experiments" / "scripts"
