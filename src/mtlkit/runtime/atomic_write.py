"""Files written whole or not at all: a temporary file in the same folder, flushed to disk, then ``os.replace``.

A full disk, a Ctrl-C or a kill while writing leaves the previous file (checkpoint, results.json) as it was and no
half-written one; a failed write (``ENOSPC``, ``EDQUOT``, ...) is one :class:`WriteFailedError` line naming the file
and the fix. Checkpoints go through :class:`mtlkit.runtime.checkpoint_io.AtomicCheckpointIO`.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from mtlkit.errors import MtlkitError


class WriteFailedError(MtlkitError, OSError):
    """A file could not be written (full disk, quota, read-only folder); nothing was replaced."""


def _reason(err: OSError) -> str:
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return "the disk (or your quota) is full"
    return err.strerror or type(err).__name__


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], Any]) -> Path:
    """Call ``write`` on a temporary file next to ``path``, then put it in ``path``'s place in one step."""
    path = Path(path)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temp.open("wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except OSError as err:
        temp.unlink(missing_ok=True)
        kept = "keeps its previous content" if path.exists() else "was not written"
        raise WriteFailedError(
            f"cannot write {path}: {_reason(err)}; nothing was replaced ({path.name} {kept}). Free space, or write "
            "elsewhere: MTLKIT_LOG_DIR=<folder> (all runs) or hydra.run.dir=<folder> (this run)"
        ) from None
    except BaseException:  # Ctrl-C, an error of ``write``: no temporary file is left behind
        temp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """:func:`atomic_write` of ``text`` (UTF-8)."""
    return atomic_write(path, lambda f: f.write(text.encode()))
