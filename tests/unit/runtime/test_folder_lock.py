"""One writer per run folder: a second process is refused in one line naming the holder; a lock left by a dead
process is taken over; a refused mtlkit-train changes nothing in the folder."""

from __future__ import annotations

import json
import os

import pytest

from mtlkit.errors import RunFolderError
from mtlkit.runtime.folder_lock import LOCK_FILE, lock_folder, release_folder
from tests.conftest import TINY
from tests.helpers import results_files, run_cli
from tests.helpers.subprocess_runs import hold_folder_lock


def test_a_second_process_is_refused_naming_the_holder_and_a_dead_holders_lock_is_taken_over(tmp_path):
    holder = hold_folder_lock(tmp_path)
    try:
        with pytest.raises(RunFolderError) as err:
            lock_folder(tmp_path)
        message = str(err.value)
        assert len(message.splitlines()) == 1
        assert f"is in use by mtlkit-train (pid {holder.pid}, since 20" in message and "nothing was changed" in message
    finally:
        holder.kill()  # SIGKILL: no clean-up, the lock file stays behind with the dead pid
        holder.wait()
    assert json.loads((tmp_path / LOCK_FILE).read_text())["pid"] == holder.pid
    lock = lock_folder(tmp_path)  # the kernel released the dead process's lock
    assert lock is not None and json.loads((tmp_path / LOCK_FILE).read_text())["pid"] == os.getpid()
    release_folder(tmp_path)
    assert not (tmp_path / LOCK_FILE).exists()


@pytest.mark.slow  # the command line itself, in a subprocess
def test_mtlkit_train_into_a_folder_in_use_is_refused_and_changes_nothing(tmp_path):
    run_dir = tmp_path / "run"
    lock_folder(run_dir)  # this process stands for the first mtlkit-train
    try:
        proc = run_cli([*TINY, f"hydra.run.dir={run_dir}"], tmp_path)
    finally:
        release_folder(run_dir)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"mtlkit-train: error: {run_dir} is in use by mtlkit-train (pid ")
    assert sorted(p.name for p in run_dir.iterdir()) == [] and not results_files(tmp_path)
