"""Data sources through the console script: a table and an image folder train end to end; a data error is one
line."""

from __future__ import annotations

import json

import pytest

from tests.helpers import results_files, run_cli
from tests.helpers.userdata import TASKS, write_image_set, write_table

pytestmark = pytest.mark.slow


@pytest.mark.slow
def test_cli_trains_a_table_end_to_end(tmp_path):
    path = tmp_path / "my.csv"
    write_table(path, n=200)
    proc = run_cli(
        [
            "data=table",
            f"data.path={path}",
            "data.label_columns=[a,b,c]",
            "model=mlp",
            "model.width=16",
            "trainer.max_epochs=5",
            "data.batch_size=16",
            "logger=csv",
            "callbacks.rich_progress_bar=null",
        ],
        tmp_path / "out",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(results_files(tmp_path / "out")[0].read_text())
    assert res["data"]["name"] == "table" and res["tasks"] == TASKS
    assert sum(res["data"]["sizes"].values()) == 200 and res["data"]["input_shape"] == [6]
    assert set(res["metrics"]) == {"val", "test"}
    assert res["metrics"]["test"]["macro"]["auroc"] > 0.75  # each task is a sign of one feature
    assert "Labels of data set 'table'" in proc.stdout


@pytest.mark.slow
def test_cli_data_error_is_one_clear_line(tmp_path):
    path = tmp_path / "my.csv"
    frame = write_table(path, n=30)
    frame.loc[7, "b"] = "maybe"
    frame.to_csv(path, index=False)
    proc = run_cli(["data=table", f"data.path={path}", "data.label_columns=[a,b,c]", "model=mlp"], tmp_path / "o")
    assert proc.returncode != 0
    assert f"{path}, line 9, column 'b': label cell 'maybe'" in proc.stderr
    assert not results_files(tmp_path / "o")


@pytest.mark.slow
def test_cli_trains_on_an_image_folder_end_to_end(tmp_path):
    path = write_image_set(tmp_path / "data", n=64, size=16, split=True)
    proc = run_cli(
        [
            "data=images",
            f"data.path={path}",
            "data.augment=[hflip,shift]",
            "data.batch_size=16",
            "model.width=8",
            "model.depth=2",
            "trainer.max_epochs=2",
            "logger=csv",
            "callbacks.rich_progress_bar=null",
        ],
        tmp_path / "out",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    files = results_files(tmp_path / "out")
    res = json.loads(files[0].read_text())
    assert res["data"]["name"] == "images" and res["tasks"] == ["red", "blue", "bright"]
    assert res["data"]["input_shape"] == [3, 16, 16] and res["data"]["sizes"] == {"train": 48, "val": 8, "test": 8}
    assert set(res["metrics"]) == {"val", "test"} and "macro" in res["metrics"]["test"]
    assert (files[0].parent / "checkpoints" / "last.ckpt").exists()
    assert "splits from column 'split'" in proc.stdout
    # size and channels from the 16 x 16 RGB files, said once; a short run said in one line, with the fix
    assert "data.image_size and data.channels not set: from 64 images: image size 16x16" in proc.stdout
    assert "warning: 6 optimizer steps in the whole run (48 training examples, data.batch_size=16" in proc.stdout
    assert "trainer.max_epochs=34" in proc.stdout
    assert "logging interval" not in proc.stdout + proc.stderr  # Lightning's log_every_n_steps warning
