"""approach=classical: one scikit-learn estimator per task, fitted on that task's labelled training rows only, in
the networks' results.json, and predicted by mtlkit-predict (examples/table/patients.csv has missing labels)."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score

from mtlkit.build.builders import build_datamodule
from mtlkit.cli.predict import main as predict_main
from mtlkit.errors import ConfigError
from mtlkit.models.classical.store import MODEL_FILE, load_model
from mtlkit.run import train
from tests.conftest import REPO
from tests.helpers import compose_config, read_csv_rows

PATIENTS = REPO / "examples" / "table" / "patients.csv"
TABLE = ["data=table", f"data.path={PATIENTS}", "data.label_columns=[a,b,c]", "logger=none"]
CLASSICAL = [*TABLE, "approach=classical"]


def _train(overrides: list[str], out) -> dict:
    return train(compose_config(overrides, out))


def _masked(dm, split: str, j: int) -> tuple[np.ndarray, np.ndarray]:
    data = dm.splits[split]
    rows = data.mask[:, j].numpy()
    return data.x.double().numpy()[rows], data.y[:, j].numpy()[rows].astype(int)


@pytest.fixture(scope="module")
def logreg_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("logreg")
    cfg = compose_config([*CLASSICAL, "model=logreg", "model.C=0.5"], out)
    return train(cfg), out, build_datamodule(cfg.data)


@pytest.mark.xdist_group("classical_logreg_run")
def test_each_task_equals_scikit_learn_fitted_on_its_labelled_train_rows_only(logreg_run):
    results, out, dm = logreg_run
    estimators = load_model(out / MODEL_FILE)["estimators"]
    for j, task in enumerate(dm.tasks):
        x, y = _masked(dm, "train", j)
        assert len(y) < len(dm.splits["train"].y)  # the file leaves some of each task's labels out
        reference = LogisticRegression(C=0.5, max_iter=1000, random_state=0).fit(x, y)
        x_test, y_test = _masked(dm, "test", j)
        expected = reference.predict_proba(x_test)[:, 1]
        np.testing.assert_allclose(estimators[task].predict_proba(x_test)[:, 1], expected, rtol=1e-6)
        row = results["metrics"]["test"]["per_task"][task]
        assert row["auroc"] == pytest.approx(roc_auc_score(y_test, expected), abs=1e-6)
        assert row["ap"] == pytest.approx(average_precision_score(y_test, expected), abs=1e-6)
        assert row["n_labelled"] == len(y_test)


def test_a_listed_option_is_chosen_per_task_on_val_auroc(tmp_path):
    cfg = compose_config([*CLASSICAL, "model=rf", "model.n_estimators=5", "model.max_depth=[1,6]", "seed=3"], tmp_path)
    results = train(cfg)
    dm = build_datamodule(cfg.data)
    record = results["classical"]
    assert record["searched"] == ["max_depth"] and len(record["candidates"]) == 2
    for j, task in enumerate(dm.tasks):
        x, y = _masked(dm, "train", j)
        x_val, y_val = _masked(dm, "val", j)
        scores = []
        for depth in (1, 6):
            forest = RandomForestClassifier(n_estimators=5, max_depth=depth, random_state=3, n_jobs=1).fit(x, y)
            scores.append(roc_auc_score(y_val, forest.predict_proba(x_val)[:, 1]))
        assert record["per_task"][task]["val_auroc"] == pytest.approx(scores)
        assert record["per_task"][task]["chosen"]["max_depth"] == (1, 6)[int(np.argmax(scores))]


def test_a_task_with_a_single_class_in_train_is_its_prior_and_is_said_once(tmp_path, capsys):
    rows = list(csv.DictReader(PATIENTS.open()))
    for i, row in enumerate(rows):
        row["split"] = "train" if i < 300 else "val" if i < 350 else "test"
        row["only_pos"] = "1" if i < 300 and i % 3 else ("" if i < 300 else str(i % 2))
    file = tmp_path / "single.csv"
    with file.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    overrides = [*CLASSICAL, f"data.path={file}", "data.label_columns=[a,b,c,only_pos]", "model=logreg"]
    results = _train(overrides, tmp_path / "run")
    assert results["classical"]["per_task"]["only_pos"]["constant"] == "only positives"
    assert results["classical"]["per_task"]["a"]["constant"] is None
    said = [line for line in capsys.readouterr().out.splitlines() if "only_pos" in line and "prior" in line]
    assert len(said) == 1  # one line says it (the label and metric tables aside)
    assert any("only_pos" in w for w in results["warnings"])
    test = results["metrics"]["test"]["per_task"]["only_pos"]
    assert test["auroc"] == 0.5 and test["n_labelled"] == 50  # a constant ranks nothing
    estimator = load_model(tmp_path / "run" / MODEL_FILE)["estimators"]["only_pos"]
    assert estimator.predict_proba(np.zeros((2, 9)))[:, 1].tolist() == [1.0, 1.0]


def _network_results(tmp_path) -> dict:
    net = [*TABLE, "approach=multitask", "model=mlp", "model.width=8", "trainer.max_epochs=1", "callbacks=none"]
    return _train(net, tmp_path / "net")


@pytest.mark.xdist_group("classical_logreg_run")
def test_results_have_the_schema_of_a_network_run(logreg_run, tmp_path):
    classical, network = logreg_run[0], _network_results(tmp_path)
    assert set(classical) - {"classical"} == set(network) - {"task_gradients", "task_weights"}
    for split in ("val", "test"):
        c, n = classical["metrics"][split], network["metrics"][split]
        assert set(c) == set(n)
        assert set(c["macro"]) == set(n["macro"]) and set(c["example_based"]) == set(n["example_based"])
        assert {t: set(r) for t, r in c["per_task"].items()} == {t: set(r) for t, r in n["per_task"].items()}
    assert classical["epochs"] is None and classical["global_steps"] is None
    assert "no epochs" in classical["classical"]["training"]
    assert classical["parameters"]["total"] == 3 * (9 + 1)  # coefficients and intercept per task
    on_disk = json.loads((logreg_run[1] / "results.json").read_text())
    assert on_disk["approach"] == "classical" and (logreg_run[1] / "preprocessing.json").is_file()


@pytest.mark.xdist_group("classical_logreg_run")
def test_predict_writes_the_networks_csv_from_the_stored_estimators(logreg_run, tmp_path):
    results, out, dm = logreg_run
    estimators = load_model(out / MODEL_FILE)["estimators"]
    assert predict_main([str(out), "-o", str(tmp_path / "test.csv"), "--decisions"]) == 0
    rows = read_csv_rows(tmp_path / "test.csv")
    assert list(rows[0]) == [
        "id", "prob_a", "prob_b", "prob_c", "label_a", "label_b", "label_c", "pred_a", "pred_b", "pred_c"
    ]  # fmt: skip
    assert [r["id"] for r in rows] == dm.splits["test"].ids
    x = dm.splits["test"].x.double().numpy()
    for task in dm.tasks:
        expected = estimators[task].predict_proba(x)[:, 1]
        np.testing.assert_allclose([float(r[f"prob_{task}"]) for r in rows], expected, atol=1e-6)
    # another file (columns reordered, no labels): the run's fitted preprocessing, every row
    source = list(csv.DictReader(PATIENTS.open()))
    other = tmp_path / "other.csv"
    with other.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["site", "x6", "x5", "x4", "x3", "x2", "x1", "id"], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(source)
    assert predict_main([str(out), f"data.path={other}", "-o", str(tmp_path / "all.csv")]) == 0
    by_id = {r["id"]: r for r in read_csv_rows(tmp_path / "all.csv")}
    assert len(by_id) == len(source)
    for r in rows:
        assert math.isclose(float(by_id[r["id"]]["prob_a"]), float(r["prob_a"]), abs_tol=1e-6)
        assert by_id[r["id"]]["label_a"] == ""


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ([*TABLE, "approach=multitask", "model=logreg"], "model=logreg is a scikit-learn estimator, not a network"),
        ([*TABLE, "approach=separate", "model=rf"], "use it with approach=classical"),
        ([*CLASSICAL, "model=mlp"], "choose model=logreg or model=rf"),
        (["data=driving", "logger=none", "approach=classical", "model=logreg"], "data=driving gives inputs of shape"),
        ([*CLASSICAL, "model=logreg", "model.penalty=[l2,elastic]"], "model.penalty"),
    ],
)
def test_bad_combinations_are_one_line_before_any_data(overrides, message, tmp_path, monkeypatch):
    monkeypatch.setattr("mtlkit.run.build_datamodule", _no_data)
    with pytest.raises(ConfigError, match=message) as err:
        _train(overrides, tmp_path)
    assert "\n" not in str(err.value)


def test_without_scikit_learn_the_run_says_how_to_install_it(tmp_path, monkeypatch):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "sklearn" else find_spec(name, *a)
    )
    monkeypatch.setattr("mtlkit.run.build_datamodule", _no_data)
    with pytest.raises(ConfigError, match=r'scikit-learn.*not installed: pip install -e "\.\[classical\]"'):
        _train([*CLASSICAL, "model=logreg"], tmp_path)


def _no_data(*args, **kwargs):
    raise AssertionError("the data were built before the refusal")
