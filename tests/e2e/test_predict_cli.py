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


def test_val_f1_thresholds_go_from_validation_to_test_results_and_predict_decisions(tmp_path):
    """eval.threshold=val_f1 end to end: chosen on val, written to results.json, test scored with them, stored in the
    checkpoint, and mtlkit-predict --decisions decides with them (--threshold overrides)."""
    import json

    from sklearn.metrics import f1_score

    from mtlkit.cli.predict import main
    from mtlkit.run import train
    from mtlkit.runtime.checkpoints import load_checkpoint
    from tests.conftest import TINY
    from tests.helpers import compose_config

    run = tmp_path / "run"
    train(compose_config([*TINY, "eval.threshold=val_f1", "data.missing_rate=0.3"], run))
    results = json.loads((run / "results.json").read_text())
    val, test = results["metrics"]["val"], results["metrics"]["test"]
    assert val["thresholds"]["rule"] == test["thresholds"]["rule"] == "val_f1"
    chosen = test["thresholds"]["values"]
    assert chosen == val["thresholds"]["values"] and set(chosen) == set(results["tasks"])
    ckpt, _ = load_checkpoint(run)
    assert ckpt["mtlkit"]["eval_threshold"]["values"] == chosen  # what mtlkit-predict takes

    out = tmp_path / "pred.csv"
    assert main([str(run), "-o", str(out), "--decisions"]) == 0
    rows = read_csv_rows(out)
    for task, t in chosen.items():
        probs = [float(r[f"prob_{task}"]) for r in rows]
        preds = [int(r[f"pred_{task}"]) for r in rows]
        assert all(d == int(p > t) for p, d in zip(probs, preds) if abs(p - t) > 1e-6)
        labelled = [(int(r[f"label_{task}"]), d) for r, d in zip(rows, preds) if r[f"label_{task}"] != ""]
        if any(y for y, _ in labelled):  # test F1 in results.json is the F1 of these decisions
            expected = f1_score([y for y, _ in labelled], [d for _, d in labelled])
            assert test["per_task"][task]["f1"] == pytest.approx(expected, abs=1e-6)
    # example-based metrics and the examples they leave out, counted from the labels
    block = test["example_based"]
    no_positive = sum(not any(r[f"label_{t}"] == "1" for t in chosen) for r in rows)
    assert block["n_examples"] == len(rows) and block["left_out_examples"]["lrap"] == no_positive
    assert 0 <= block["hamming"] <= 1 and 1 <= block["coverage"] <= len(chosen)

    assert main([str(run), "-o", str(out), "--threshold", "0.999"]) == 0
    assert all(r[f"pred_{t}"] == str(int(float(r[f"prob_{t}"]) > 0.999)) for r in read_csv_rows(out) for t in chosen)


def test_predict_applies_a_derived_rule_to_the_probabilities(tiny_checkpoints, tmp_path):
    out = tmp_path / "stop.csv"
    args = [str(tiny_checkpoints["multitask"]), "--output", str(out), "--derived", "stop=pedestrian or stop_sign"]
    args += [
        "data.num_train=64",
        "data.num_test=40",
        "data.image_size=16",
        "data.derived={stop: pedestrian or stop_sign}",
    ]
    proc = run_cli(args, tmp_path, module="mtlkit.cli.predict")
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = read_csv_rows(out)
    for r in rows:
        p, s = float(r["prob_pedestrian"]), float(r["prob_stop_sign"])
        assert float(r["prob_stop"]) == pytest.approx(1 - (1 - p) * (1 - s), abs=2e-6)
    assert any(r["label_stop"] in ("0", "1") for r in rows)  # the data's derived label, where it is decided


def test_predict_a_reordered_extended_unlabelled_file_through_the_console_script(tmp_path):
    """Issue 24 §1: `mtlkit-predict RUN data.path=NEW` as a user's shell runs it, on a file whose columns are
    reordered, with 300 other rows (of another scale, a new category) and an extra column, and no label column,
    gives every training row the probabilities it has on the training file."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import numpy as np
    import pandas as pd

    from mtlkit.cli.predict import main
    from mtlkit.run import train
    from tests.helpers import compose_config
    from tests.helpers.userdata import TASKS, write_table

    frame = write_table(tmp_path / "train.csv", n=100)
    overrides = ["data=table", f"data.path={tmp_path / 'train.csv'}", "data.label_columns=[a,b,c]", "model=mlp"]
    overrides += ["model.width=8", "trainer.max_epochs=1", "logger=csv", "callbacks.rich_progress_bar=null"]
    train(compose_config(overrides, tmp_path / "run"))
    assert main([str(tmp_path / "run"), "--split", "all", "-o", str(tmp_path / "own.csv")]) == 0

    other = write_table(tmp_path / "other.csv", n=300, seed=9).assign(id=lambda f: "new" + f["id"], site="west")
    other[["x1", "x2", "x3", "x4"]] *= 50.0  # a standardisation refitted on the file would move every row
    new = pd.concat([frame, other]).assign(comment="extra").drop(columns=TASKS).sample(frac=1.0, random_state=0)
    new[["comment", "x3", "site", "x1", "id", "x4", "x2"]].to_csv(tmp_path / "new.csv", index=False)
    script = Path(sys.executable).parent / "mtlkit-predict"
    proc = subprocess.run(
        [str(script), str(tmp_path / "run"), f"data.path={tmp_path / 'new.csv'}", "-o", str(tmp_path / "new_pred.csv")],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "wrote 400 rows (3 tasks, split 'all'" in proc.stdout
    assert "['comment'] are not inputs of the model: ignored" in proc.stdout + proc.stderr
    own = pd.read_csv(tmp_path / "own.csv").set_index("id")
    got = pd.read_csv(tmp_path / "new_pred.csv").set_index("id")
    assert len(own) == 100 and set(own.index) < set(got.index)
    probs = [f"prob_{t}" for t in TASKS]
    np.testing.assert_allclose(got.loc[own.index, probs].to_numpy(), own[probs].to_numpy(), rtol=0, atol=2e-6)
    assert got[[f"label_{t}" for t in TASKS]].isna().all().all()  # no label column: empty labels
