"""After a multirun in which a job failed, the summary table and summary.csv come out all the same (Hydra skips its
end-of-sweep callbacks then), the failed jobs marked, and one line says how many failed."""

import pytest

from tests.helpers.subprocess_runs import SMALL, run_dirs, train

pytestmark = pytest.mark.slow


def test_a_sweep_with_a_failed_job_still_prints_and_writes_its_summary(tmp_path):
    args = [
        "-m",
        *SMALL,
        "data.batch_size=64",
        "trainer.max_epochs=1",
        "logger=csv",
        "+callbacks.fault._target_=tests.helpers.fault_injection.RaiseAtStep",
        "+callbacks.fault.step=2,1000",
    ]
    proc = train(args, tmp_path)
    assert proc.returncode == 1
    failed, done = run_dirs(tmp_path)
    assert "Multirun summary" in proc.stdout and "FAILED (RuntimeError)" in proc.stdout
    rows = (failed.parent / "summary.csv").read_text().splitlines()
    assert len(rows) == 3 and "FAILED (RuntimeError)" in rows[1] and "FAILED" not in rows[2]
    assert "mtlkit-train: error: 1 of 2 job(s) failed (0; see results.json" in proc.stderr
