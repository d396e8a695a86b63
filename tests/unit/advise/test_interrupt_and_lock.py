"""Ctrl-C on mtlkit-advise stops the running job and ends in one line with exit code 130 and how many jobs are done
(the same command resumes); a second advise into a folder in use is refused in one line."""

from __future__ import annotations

import os
import signal
import sys
import threading

import pytest

from mtlkit.advise import jobs
from mtlkit.advise.jobs import LOG_FILE, Job, JobsInterrupted, Runner
from mtlkit.cli import advise as cli
from tests.helpers.subprocess_runs import hold_folder_lock

SLEEPER = "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(120)"


def test_ctrl_c_stops_the_running_job_and_says_how_many_are_done(tmp_path, monkeypatch):
    pid_file = tmp_path / "pid"
    command = [sys.executable, "-c", SLEEPER, str(pid_file)]
    monkeypatch.setattr(jobs, "train_command", lambda overrides, run_dir: command)
    runner = Runner(total=5)
    runner.done = 2  # two jobs done before this one

    def ctrl_c() -> None:  # once the job runs: what a Ctrl-C does to this process
        while not (pid_file.is_file() and pid_file.read_text()):
            threading.Event().wait(0.05)
        os.kill(os.getpid(), signal.SIGINT)

    # a test session started in the background (`cmd &`) inherits an ignored SIGINT: give this one Python's default
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    threading.Thread(target=ctrl_c, daemon=True).start()
    try:
        with pytest.raises(JobsInterrupted) as err:
            runner.run(Job("a job", [], tmp_path / "run"))
    finally:
        signal.signal(signal.SIGINT, previous)
    assert (err.value.done, err.value.total) == (2, 5) and str(err.value) == "2 of 5 jobs done"
    with pytest.raises(ProcessLookupError):  # the job was stopped (and reaped)
        os.kill(int(pid_file.read_text()), 0)
    assert not (tmp_path / "run" / LOG_FILE).exists()  # nothing half-written


def test_the_cli_turns_an_interruption_into_one_line_and_exit_130(tmp_path, monkeypatch, capsys):
    import mtlkit.advise.run

    def interrupted(*args, **kwargs):
        raise JobsInterrupted(3, 7)

    monkeypatch.setattr(mtlkit.advise.run, "advise", interrupted)
    assert cli.main(["--seeds", "1", "--out", str(tmp_path / "out")]) == 130
    err = capsys.readouterr().err.strip()
    assert err == "mtlkit-advise: interrupted; rerun the same command to resume: 3 of 7 jobs done"


def test_a_second_advise_into_a_folder_in_use_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    holder = hold_folder_lock(out, "mtlkit-advise")
    try:
        assert cli.main(["--seeds", "1", "--out", str(out)]) == 2
    finally:
        holder.kill()
        holder.wait()
    printed = " ".join(capsys.readouterr().out.split())
    assert f"mtlkit-advise: error: {out} is in use by mtlkit-advise (pid {holder.pid}, since" in printed
    assert "another --out" in printed and sorted(p.name for p in out.iterdir()) == [".mtlkit.lock"]
