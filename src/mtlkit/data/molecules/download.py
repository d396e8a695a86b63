"""A benchmark file absent at ``data.path``: fetched once from a known address and checked against its sha256, or,
offline (``MTLKIT_OFFLINE=1``, or the address unreachable), refused in one line that says where to put it."""

from __future__ import annotations

import hashlib
import os
import urllib.request
from pathlib import Path

from mtlkit.errors import DataError

OFFLINE_ENV = "MTLKIT_OFFLINE"
TIMEOUT_S = 20


def offline() -> bool:
    """Whether downloads are off (``MTLKIT_OFFLINE=1``; tests and CI set it)."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in ("1", "true", "yes")


def ensure_file(path: str | Path, url: str | None, sha256: str | None, timeout: float = TIMEOUT_S) -> None:
    """Make sure ``path`` exists: when it does not and ``url`` is set, download it, check ``sha256`` and write it
    atomically. Any failure is one line naming the file, its address and where to put a copy; nothing is written."""
    target = Path(path).expanduser()
    if target.is_file() or not url:
        return
    put = f"put the file there (download {url} on a machine with internet) or point data.path at your copy"
    if offline():
        raise DataError(f"data.path={str(target)!r} does not exist and downloads are off ({OFFLINE_ENV}=1); {put}")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - a fixed https address
            blob = response.read()
    except (OSError, ValueError) as err:  # URLError, timeouts and HTTP errors are OSErrors
        raise DataError(f"data.path={str(target)!r} does not exist and {url} cannot be fetched ({err}); {put}") from err
    digest = hashlib.sha256(blob).hexdigest()
    if sha256 and digest != sha256:
        raise DataError(
            f"{url} gave a file whose sha256 is {digest}, not the expected {sha256}; nothing was written. {put}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    tmp.write_bytes(blob)
    os.replace(tmp, target)
