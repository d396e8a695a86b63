"""Errors that mtlkit raises for bad input: each message names the cause and the fix.

:func:`user_error` also turns a few errors of other libraries whose cause is the user's setup (wandb that cannot
start online, a folder that cannot be written, Lightning's refusal of a missing accelerator) into one-line
mtlkit errors; see :data:`TRANSLATORS` to add one.
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Callable


class MtlkitError(Exception):
    """Base class for user-facing errors (bad config, bad data, bad checkpoint)."""


class ConfigError(MtlkitError, ValueError):
    """A configuration value is invalid or inconsistent."""


class DataError(MtlkitError, ValueError):
    """Input data is missing or malformed."""


class CheckpointError(MtlkitError, ValueError):
    """A checkpoint does not fit the configured model."""


class RunFolderError(MtlkitError):
    """A command would change a run folder it must not change (a finished run, another configuration's run)."""


def _first_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return lines[0] if lines else type(exc).__name__


def _wandb(exc: BaseException) -> str | None:
    if not type(exc).__module__.startswith("wandb") or not isinstance(exc, Exception):
        return None
    return (
        f"wandb could not start online ({type(exc).__name__}: {_first_line(exc)}): run `wandb login` with a valid "
        "key (wandb.ai/authorize), or log offline: logger.wandb.offline=true"
    )


def _unwritable(exc: BaseException) -> str | None:
    if not isinstance(exc, OSError) or exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
        return None
    where = exc.filename or "a file"
    return (
        f"{exc.strerror}: {where}; make it writable, or write elsewhere: MTLKIT_LOG_DIR=<folder> (all runs), "
        "hydra.run.dir=<folder> (this run), MTLKIT_CACHE_DIR=<folder> (generated data)"
    )


def _no_accelerator(exc: BaseException) -> str | None:
    if type(exc).__name__ != "MisconfigurationException":
        return None
    text = str(exc)
    if not any(w in text for w in ("GPU", "CUDA", "accelerator", "MPS", "devices")):
        return None
    return f"trainer: {_first_line(exc)}; use trainer=cpu, or on a GPU machine install the CUDA build of torch"


# Each translator returns a one-line message for an error it recognises, else None.
TRANSLATORS: list[Callable[[BaseException], str | None]] = [_wandb, _unwritable, _no_accelerator]


def user_error(exc: BaseException) -> MtlkitError | None:
    """The :class:`MtlkitError` behind ``exc`` (itself, or its cause, e.g. inside Hydra's instantiate), if any;
    else one made by a :data:`TRANSLATORS` entry from an error of the user's setup; else None (a bug)."""
    chain: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and all(cur is not c for c in chain):
        if isinstance(cur, MtlkitError):
            return cur
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    for err in chain:
        for translate in TRANSLATORS:
            message = translate(err)
            if message:
                return ConfigError(message)
    return None


def report(err: BaseException | str, prog: str = "mtlkit-train") -> None:
    """Print ``err`` to stderr as ``PROG: error: ...``, one line per line of its message."""
    for line in str(err).splitlines() or [""]:
        if line.strip():
            print(f"{prog}: error: {line.strip()}", file=sys.stderr, flush=True)
