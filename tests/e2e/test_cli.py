"""The real command line, in a subprocess, as a user runs it."""

import json

from tests.conftest import TINY
from tests.helpers import results_files, run_cli


def test_cli_run_writes_results_json_and_prints_tables(tmp_path):
    proc = run_cli([*TINY, "data.missing_rate=0.8", "model.width=16", "trainer.max_epochs=2"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    files = results_files(tmp_path)
    assert len(files) == 1
    res = json.loads(files[0].read_text())
    assert res["epochs"] == 2
    run_dir = files[0].parent
    assert (run_dir / ".hydra" / "config.yaml").exists()
    assert (run_dir / "checkpoints" / "last.ckpt").exists()
    assert list((run_dir / "csv").rglob("metrics.csv"))
    assert "Labels of data set 'driving'" in proc.stdout and "macro" in proc.stdout
    unknown = sum(c["unknown"] for c in res["label_counts"]["train"].values())
    assert 0.75 < unknown / (256 * 4) < 0.85


def test_cli_unknown_key_fails_with_a_clear_message(tmp_path):
    proc = run_cli([*TINY, "model.widht=16"], tmp_path)
    assert proc.returncode != 0
    assert "widht" in proc.stderr and "not in struct" in proc.stderr
    assert not results_files(tmp_path)


def test_cli_unknown_task_fails_with_one_line_naming_the_known_tasks(tmp_path):
    proc = run_cli([*TINY, "data.tasks=[bus]"], tmp_path)
    assert proc.returncode == 2
    assert "mtlkit-train: error: data.tasks names unknown task(s) ['bus']" in proc.stderr
    assert "pedestrian" in proc.stderr and "Traceback" not in proc.stderr


def test_cli_bad_value_inside_a_constructor_is_one_line_too(tmp_path):
    proc = run_cli([*TINY, "model.depth=0"], tmp_path)
    assert proc.returncode == 2
    assert "model.depth" in proc.stderr and "Traceback" not in proc.stderr
