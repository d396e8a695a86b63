"""mtlkit-predict as a console script: another split and another data config."""

from __future__ import annotations

import pytest

from tests.helpers import read_csv_rows, run_cli

pytestmark = pytest.mark.slow


def test_predict_another_split_and_data_config_through_the_console_script(tiny_checkpoints, tmp_path):
    out = tmp_path / "val.csv"
    args = [str(tiny_checkpoints["multitask"]), "--split", "val", "--output", str(out)]
    args += ["data=driving", "data.num_train=64", "data.num_val=40", "data.image_size=16", "data.tasks=[car]"]
    proc = run_cli(args, tmp_path, module="mtlkit.cli.predict")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "wrote 40 rows" in proc.stdout
    rows = read_csv_rows(out)
    assert len(rows) == 40
    # the data hold only `car`: the other tasks still get probabilities, their labels stay empty
    assert all(r["label_car"] in ("0", "1") for r in rows) and all(r["label_pedestrian"] == "" for r in rows)
    assert all(0 <= float(r["prob_stop_sign"]) <= 1 for r in rows)
