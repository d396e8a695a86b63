"""The forked console-script runs of the tests (tests/helpers/forked_cli.py) end as real subprocesses do: the same
exit code, signal, stdout and stderr, environment, folder and exit handlers; real subprocesses are the reference."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO
from tests.helpers.forked_cli import run_module

PROBE = "tests.helpers.process_probe"

CASES = {
    "output and exit 0": ["print=out", "warn=err", "argv"],
    "exit code": ["print=before", "exit=3", "print=never"],
    "exit with a message": ["exit=refused in one line"],
    "an exception": ["print=before", "raise=boom"],
    "environment and folder": ["env=PROBE_VALUE", "env=PROBE_ABSENT", "cwd"],
    "exit handlers and threads": ["atexit=at exit", "thread=from a thread", "print=main done"],
    "killed": ["print=kept although killed", "signal=SIGKILL"],
    "terminated": ["signal=SIGTERM"],
    "ctrl-c": ["atexit=handlers still run", "signal=SIGINT"],
}


@pytest.mark.parametrize("actions", CASES.values(), ids=CASES.keys())
def test_a_forked_command_ends_like_a_real_subprocess(tmp_path, monkeypatch, actions):
    monkeypatch.delenv("MTLKIT_TEST_FRESH_PROCESSES", raising=False)
    env = {**os.environ, "PROBE_VALUE": "42", "PYTHONUNBUFFERED": "1"}
    env.pop("PROBE_ABSENT", None)
    repository = os.getcwd()
    real = subprocess.run(
        [sys.executable, "-m", PROBE, *actions],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(REPO)},  # the forked one has the server's sys.path
        cwd=tmp_path,
        timeout=60,
    )
    monkeypatch.setattr(subprocess, "run", _no_subprocess)
    forked = run_module(PROBE, actions, env, 60, cwd=tmp_path)
    assert forked.returncode == real.returncode
    assert forked.stdout == real.stdout
    assert _last_line(forked.stderr) == _last_line(real.stderr)  # tracebacks differ in their frames only
    assert os.getcwd() == repository and "PROBE_VALUE" not in os.environ  # the test's own process is untouched


PLUGIN = "import os, sys\nprint(sys.path.index(os.path.dirname(os.path.abspath(__file__))), __name__)\n"


def test_a_module_on_the_commands_pythonpath_is_found_first(tmp_path, monkeypatch):
    """A user's plugin folder on PYTHONPATH (tests/e2e/test_recipes.py): its modules import, ahead of the others."""
    monkeypatch.delenv("MTLKIT_TEST_FRESH_PROCESSES", raising=False)
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "user_plugin.py").write_text(PLUGIN)
    path = os.pathsep.join(p for p in (str(tmp_path / "plugins"), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path}
    real = subprocess.run([sys.executable, "-m", "user_plugin"], capture_output=True, text=True, env=env, cwd=tmp_path)
    monkeypatch.setattr(subprocess, "run", _no_subprocess)
    forked = run_module("user_plugin", [], env, 60, cwd=tmp_path)
    assert forked.returncode == real.returncode == 0, forked.stderr + real.stderr
    assert forked.stdout == real.stdout == "1 __main__\n"


def test_a_command_past_its_timeout_is_killed_as_subprocess_run_does(tmp_path, monkeypatch):
    monkeypatch.delenv("MTLKIT_TEST_FRESH_PROCESSES", raising=False)
    with pytest.raises(subprocess.TimeoutExpired) as expired:
        run_module(PROBE, ["print=started", "sleep=120"], dict(os.environ), 2, cwd=tmp_path)
    assert expired.value.output == "started\n"


def _no_subprocess(*args, **kwargs):
    raise AssertionError("started a real subprocess instead of forking")


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""
