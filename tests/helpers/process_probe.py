"""A tiny ``python -m`` target for tests/e2e/test_forked_cli.py: each argument is one thing a process does, so that
a forked command and a real subprocess can be compared on exit codes, signals, output, environment and folder."""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
import time


def main(actions: list[str]) -> None:
    for action in actions:
        name, _, value = action.partition("=")
        if name == "print":
            print(value)
        elif name == "warn":
            print(value, file=sys.stderr)
        elif name == "env":
            print(f"{value}={os.environ.get(value)}")
        elif name == "cwd":
            print(os.getcwd())
        elif name == "argv":
            print(sys.argv[1:], __name__)
        elif name == "atexit":
            atexit.register(print, value)
        elif name == "thread":  # a non-daemon thread: the process ends after it
            threading.Thread(target=_later, args=(value,)).start()
        elif name == "sleep":
            time.sleep(float(value))
        elif name == "exit":
            sys.exit(int(value) if value.lstrip("-").isdigit() else value)
        elif name == "raise":
            raise RuntimeError(value)
        elif name == "signal":
            os.kill(os.getpid(), getattr(signal, value))


def _later(text: str) -> None:
    time.sleep(0.2)
    print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
