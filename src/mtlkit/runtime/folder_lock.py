"""One writer per run folder: an advisory lock (``fcntl.flock``) on ``<folder>/.mtlkit.lock``, held until the
process ends.

A second ``mtlkit-train`` (or ``mtlkit-advise``) into a folder that another live process holds is refused in one
line naming the holder (its command, pid, and since when). The kernel releases a flock when its process ends, however
it ends (SIGKILL included), so a lock left by a dead process is taken over at once: the next command, a resume of the
interrupted run say, proceeds. Processes that DDP re-launches into the folder of their rank-0 process never take it
(the callers check the rank first). The lock file is removed when its holder exits normally.
"""

from __future__ import annotations

import atexit
import fcntl
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from mtlkit.errors import RunFolderError

LOCK_FILE = ".mtlkit.lock"


@dataclass
class FolderLock:
    """A held lock: the open file whose flock it is, and its path."""

    path: Path
    fd: int

    def release(self) -> None:
        """Remove the lock file and let go of the lock (idempotent)."""
        if self.fd < 0:
            return
        try:
            self.path.unlink(missing_ok=True)
        except OSError:
            pass
        os.close(self.fd)
        self.fd = -1


_HELD: dict[Path, FolderLock] = {}


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        info = {}
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info["since"])) if "since" in info else "unknown"
    return f"{info.get('command', 'another process')} (pid {info.get('pid', '?')}, since {since})"


def lock_folder(
    folder: str | Path, command: str = "mtlkit-train", elsewhere: str = "another hydra.run.dir, or leave it out"
) -> FolderLock | None:
    """Take the lock of ``folder`` (created if needed) for the rest of this process, as ``command``.

    Raises :class:`RunFolderError` naming the holder when another live process has it (``elsewhere``: where else
    to write). Returns None when the folder cannot be created or written (the caller's writability check then says
    so); taking a lock this process already holds is a no-op."""
    folder = Path(folder).absolute()
    if folder in _HELD:
        return _HELD[folder]
    path = folder / LOCK_FILE
    while True:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunFolderError(
                f"{folder} is in use by {_holder(path)}: nothing was changed; wait for it to finish, or write "
                f"elsewhere ({elsewhere})"
            ) from None
        try:
            same_file = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:  # its holder removed it between our open and flock: take the new one
            same_file = False
        if same_file:
            break
        os.close(fd)
    record = {"pid": os.getpid(), "since": time.time(), "command": command}
    os.ftruncate(fd, 0)
    os.write(fd, json.dumps(record).encode())
    lock = _HELD[folder] = FolderLock(path, fd)
    atexit.register(lock.release)
    return lock


def release_folder(folder: str | Path) -> None:
    """Let go of the lock this process holds on ``folder``, if any."""
    lock = _HELD.pop(Path(folder).absolute(), None)
    if lock is not None:
        lock.release()
