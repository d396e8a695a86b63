"""``train.log`` holds what the console showed: everything written to stdout and stderr during the job (the label
table, the trainable-parameter lines, per-epoch progress, the final tables, Lightning's messages, errors), without
colour codes or progress-bar animation frames. Hydra's own logging records go to the same file."""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
_ANIMATION = ("\x1b[2K", "\x1b[1A", "\x1b[?25l", "\x1b[?25h")  # a live display redrawing itself


class _Tee:
    """A text stream that writes to ``stream`` and, without colour codes, to ``log``."""

    def __init__(self, stream: TextIO, log: TextIO):
        self._stream, self._log = stream, log

    def write(self, text: str) -> int:
        n = self._stream.write(text)
        if not any(code in text for code in _ANIMATION):
            try:
                self._log.write(_ANSI.sub("", text).replace("\r", ""))
                self._log.flush()
            except (OSError, ValueError):
                pass  # the log is a copy: never fail the run for it
        return n

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding, ... of the real stream
        return getattr(self._stream, name)


@contextmanager
def console_log(path: str | Path) -> Iterator[TextIO | None]:
    """Copy stdout, stderr and Lightning's log messages into ``path`` (appended) while the block runs; yields the
    log file (None when it cannot be opened: the run goes on without the copy)."""
    try:
        log = Path(path).open("a", encoding="utf-8")
    except OSError:
        yield None
        return
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Tee(out, log), _Tee(err, log)
    moved: list[tuple[logging.StreamHandler, Any]] = []
    for name in ("lightning.pytorch", "lightning.fabric", "pytorch_lightning", "lightning_fabric"):
        for handler in logging.getLogger(name).handlers:
            if type(handler) is logging.StreamHandler and handler.stream in (out, err):
                moved.append((handler, handler.setStream(sys.stderr if handler.stream is err else sys.stdout)))
    try:
        yield log
    except BaseException as exc:
        if not isinstance(exc, (SystemExit, KeyboardInterrupt)):  # its traceback, printed after this block
            log.write("".join(traceback.format_exception(exc)))
        raise
    finally:
        for handler, stream in moved:
            handler.setStream(stream)
        sys.stdout, sys.stderr = out, err
        log.close()
