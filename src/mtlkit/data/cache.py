"""On-disk cache of generated data sets, keyed by a hash of everything that determines them."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import torch


def default_cache_dir() -> Path:
    """``$MTLKIT_CACHE_DIR`` if set, else ``~/.cache/mtlkit``."""
    return Path(os.environ.get("MTLKIT_CACHE_DIR", Path.home() / ".cache" / "mtlkit"))


def cache_key(params: dict) -> str:
    blob = json.dumps(params, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def cached(name: str, params: dict, build: Callable[[], dict[str, torch.Tensor]], cache_dir: str | Path | None) -> dict:
    """Load ``name-<hash>.pt`` from ``cache_dir`` or build it, save it atomically and return it.

    ``cache_dir=None`` disables caching. A corrupt cache file is rebuilt, never trusted.
    """
    if cache_dir is None:
        return build()
    path = Path(cache_dir).expanduser() / f"{name}-{cache_key(params)}.pt"
    if path.exists():
        try:
            return torch.load(path, weights_only=True)
        except Exception:  # noqa: BLE001 - a broken cache entry is rebuilt
            path.unlink(missing_ok=True)
    data = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.save(data, tmp)
    os.replace(tmp, path)
    return data
