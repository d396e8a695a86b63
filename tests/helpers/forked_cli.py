"""``python -m MODULE ARGS`` for the end-to-end tests, without paying Python's start-up each time.

Every console script imports torch, Lightning and torchmetrics before it does anything: ~5 s of CPU per command on
these 2-core machines, most of a tiny run's cost and of the suite's. Here one server process per pytest worker imports
them once (``multiprocessing``'s forkserver) and forks a child per command, which runs the module as ``-m`` does
(``runpy``, ``__main__``, ``sys.argv``) with the command's environment, folder, stdout and stderr files, and ends as a
process does: non-daemon threads joined, ``atexit`` handlers run, the exit code or the signal that killed it
returned like ``subprocess.run``'s. The server only imports (no tensor op, no thread), so each child starts as a
fresh process would have after the same imports.

``MTLKIT_TEST_FRESH_PROCESSES=1`` starts every command as a real ``subprocess`` instead (the reference, to check that
both ways give the same results). Tests of start-up itself (what an import costs, what it prints) start their own
processes.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

# Imported once by the server: what every console script imports at start (the CLI modules import the rest lazily).
PRELOAD = ["mtlkit.run", "mtlkit.cli.train", "mtlkit.cli.predict", "mtlkit.cli.report", "tests.helpers.fault_injection"]

# Environment variables read when a module is imported (torch's and OpenMP's thread pools, Python's own flags):
# a command that sets one of them to another value than the server's starts as a real subprocess. (PYTHONPATH is
# not one: its new folders are put in front of the server's path, where Python would put them.)
READ_AT_IMPORT = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "PYTHONHASHSEED", "PYTHONOPTIMIZE", "PYTHONWARNINGS")

_context: multiprocessing.context.ForkServerContext | None = None


def fresh_processes() -> bool:
    """Whether every command starts as a real subprocess (``MTLKIT_TEST_FRESH_PROCESSES=1``)."""
    return os.environ.get("MTLKIT_TEST_FRESH_PROCESSES", "") not in ("", "0")


def run_module(
    module: str, args: list[str], env: Mapping[str, str], timeout: float, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """``python -m module *args`` with ``env`` and ``cwd``, stdout and stderr captured as text, like
    ``subprocess.run(..., capture_output=True, text=True, timeout=timeout)``."""
    command = [sys.executable, "-m", module, *args]
    if fresh_processes() or any(env.get(k) != os.environ.get(k) for k in READ_AT_IMPORT):
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=dict(env), cwd=cwd)
    with tempfile.TemporaryDirectory(prefix="forked_cli_") as tmp:
        out, err = Path(tmp) / "stdout", Path(tmp) / "stderr"
        child = _server().Process(target=_run_as_main, args=(module, args, dict(env), cwd, out, err))
        child.start()
        child.join(timeout)
        if child.exitcode is None:
            child.kill()
            child.join()
            raise subprocess.TimeoutExpired(command, timeout, out.read_text(), err.read_text())
        return subprocess.CompletedProcess(command, child.exitcode, out.read_text(), err.read_text())


def _server() -> multiprocessing.context.ForkServerContext:
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(PRELOAD)
        atexit.register(_stop_server)
    return _context


def _stop_server() -> None:
    """End the server with this process and wait for it (no process left behind, its CPU time counted here)."""
    from multiprocessing import forkserver

    forkserver._forkserver._stop()


def _run_as_main(module: str, args: list[str], env: dict[str, str], cwd: Path | None, out: Path, err: Path) -> None:
    """In the forked child: become ``python -m module *args`` and exit as that process would."""
    import io
    import logging
    import runpy
    import signal
    import threading
    import traceback

    folder = str(cwd) if cwd is not None else os.getcwd()
    os.chdir(folder)
    known = set(os.environ.get("PYTHONPATH", "").split(os.pathsep))
    added = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p not in known]
    sys.path[:0] = [folder, *added]  # as ``-m`` puts the current folder first, then PYTHONPATH's folders
    os.environ.clear()
    os.environ.update(env)
    for fd, path in ((1, out), (2, err)):
        file = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(file, fd)
        os.close(file)
    # unbuffered, as PYTHONUNBUFFERED=1: what a killed process printed is kept; the logging handlers made at import
    # (Lightning's) write to these streams, as they would to a fresh process's
    streams = {}
    for name, fd in (("stdout", 1), ("stderr", 2)):
        streams[id(getattr(sys, name))] = stream = io.TextIOWrapper(
            open(fd, "wb", buffering=0, closefd=False), write_through=True
        )
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)
    for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]:
        for handler in getattr(logger, "handlers", []):
            if isinstance(handler, logging.StreamHandler) and id(handler.stream) in streams:
                handler.setStream(streams[id(handler.stream)])
    # the command is a main process, not a multiprocessing child (Lightning, Hydra's launchers and wandb ask)
    this = multiprocessing.current_process()
    this._name, this._identity, this._parent_pid, this._parent_name = "MainProcess", (), None, None
    multiprocessing.process._parent_process = None
    sys.argv = [module, *args]
    sys.modules.pop(module, None)  # preloaded for its imports; ``-m`` runs it as ``__main__`` only

    code = 0
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exit_:
        code = _exit_code(exit_.code)
    except KeyboardInterrupt:
        traceback.print_exc()
        code = -signal.SIGINT
    except BaseException:
        traceback.print_exc()
        code = 1
    threading._shutdown()  # as the interpreter does at exit: join non-daemon threads, then atexit
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    if code == -signal.SIGINT:  # Python ends on an uncaught Ctrl-C by the signal itself
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    os._exit(code)


def _exit_code(code: object) -> int:
    """The process's exit status for ``sys.exit(code)``."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1
