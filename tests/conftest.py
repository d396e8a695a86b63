"""Test environment: no network, no wandb account, caches and outputs in temporary folders."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from mtlkit.torchvision_compat import make_torchvision_importable

# Under pytest-xdist (README's test command: ``-n auto``) the workers share the cores: each worker and every
# process it starts get cores // workers threads, since PyTorch's OpenMP threads spin while they wait and two
# processes with a thread per core each slow one another down several times (src/mtlkit/runtime/threads.py).
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _WORKERS > 1:
    _threads = str(max(1, len(os.sched_getaffinity(0)) // _WORKERS))
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, _threads)
    if "torch" in sys.modules:  # imported before this file (by a plugin): its pool is already sized
        sys.modules["torch"].set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

# A torchvision built for another torch (this machine's, ../shared/docs/ENVIRONMENT.md) is handled by the package
# itself, as for any user (``import mtlkit`` installs the hook). The test session counts as one command: its warning
# prints once, here, and the subprocesses it starts inherit that it was said (tests/e2e/test_torchvision_install.py
# checks what a user sees, warning included).
make_torchvision_importable()

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_SILENT", "true")

REPO = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO / "conf"

# A run small enough for tests: 16 px images, a 2-block CNN of width 8, one epoch.
TINY = [
    "data.num_train=256",
    "data.num_val=128",
    "data.num_test=128",
    "data.image_size=16",
    "data.grid=2",
    "data.batch_size=64",
    "model.width=8",
    "model.depth=2",
    "trainer.max_epochs=1",
    "logger=csv",
    "callbacks.rich_progress_bar=null",
]

# The pre-training source of approach=transfer, as small as TINY (add to TINY for transfer runs).
TINY_SOURCE = [
    "source.num_train=256",
    "source.num_val=128",
    "source.num_test=128",
    "source.image_size=16",
    "source.grid=2",
    "source.batch_size=64",
    "transfer.pretrain.max_epochs=1",
]


@pytest.fixture(autouse=True, scope="session")
def _isolated_dirs(tmp_path_factory: pytest.TempPathFactory) -> None:
    cache = tmp_path_factory.mktemp("cache")
    os.environ["MTLKIT_CACHE_DIR"] = str(cache)
    os.environ["WANDB_DIR"] = str(tmp_path_factory.mktemp("wandb"))
    os.environ["WANDB_CACHE_DIR"] = str(tmp_path_factory.mktemp("wandb_cache"))
    os.environ["WANDB_CONFIG_DIR"] = str(tmp_path_factory.mktemp("wandb_config"))


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Run dirs of a tiny multitask and a tiny separate run (CNN width 8, depth 2), trained once per session: under
    pytest-xdist the first worker that needs them trains them (a file lock), the others read the same folders."""
    from filelock import FileLock

    from mtlkit.run import train
    from tests.helpers import compose_config

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the session's folder, shared by its workers
    shared = root / "tiny_checkpoints"
    runs = {approach: shared / approach for approach in ("multitask", "separate")}
    with FileLock(str(root / "tiny_checkpoints.lock")):
        if not (shared / "trained").is_file():
            for approach, out in runs.items():
                train(compose_config([*TINY, f"approach={approach}"], out))
            (shared / "trained").write_text("")
    return runs


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The slow tests (end-to-end runs, ``@pytest.mark.slow``) first, in their collected order, then the rest:
    pytest-xdist hands tests out in this order, so the long ones start at once and the short ones fill the end,
    instead of a minute-long run starting last on one worker while the other waits (experiments/tests/ is
    collected after tests/unit/)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
