"""A file's fitted preprocessing (issue 24 §1): kept with the run, applied to any file by column name, so that a
row's probabilities depend neither on the order of the columns nor on the other rows of the file."""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mtlkit.data.files.labelled_file import PREPROCESSING_KEY
from mtlkit.data.sources.images import ImageDataModule
from mtlkit.data.sources.table import TableDataModule
from mtlkit.errors import CheckpointError, DataError
from mtlkit.evaluation.predictions import ALL_ROWS, predict, use_run_preprocessing
from tests.helpers.userdata import TASKS, write_image_set, write_table

FEATURES = ["x1", "x2", "x3", "x4", "site"]


def _fitted(path: Path) -> TableDataModule:
    dm = TableDataModule(path=str(path), label_columns=TASKS, verbose=False)
    dm.setup()
    return dm


def _applied(path: Path, preprocessing: dict, whole_file: bool = True, **kw) -> TableDataModule:
    dm = TableDataModule(path=str(path), label_columns=TASKS, verbose=False, **kw)
    dm.use_fitted(preprocessing, whole_file=whole_file)
    dm.setup()
    return dm


@cache
def _trained() -> tuple[pd.DataFrame, dict, torch.nn.Module, dict[str, np.ndarray]]:
    """The training file, what a run fitted on it, a fixed model, and the model's probabilities per id."""
    folder = Path(tempfile.mkdtemp(prefix="prep"))
    frame = write_table(folder / "train.csv", n=60)
    preprocessing = _fitted(folder / "train.csv").fitted_preprocessing()
    model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    torch.nn.init.normal_(model[0].weight, generator=torch.Generator().manual_seed(0))
    dm = _applied(folder / "train.csv", preprocessing)
    return frame, preprocessing, model, _probabilities(model, dm)


def _probabilities(model: torch.nn.Module, dm: TableDataModule) -> dict[str, np.ndarray]:
    pred = predict(model, dm, ALL_ROWS)
    return dict(zip(pred["ids"], pred["probs"].numpy()))


@settings(max_examples=25, deadline=None)
@given(
    order=st.permutations(["id", *FEATURES, *TASKS, "note"]),
    rows=st.lists(st.integers(0, 59), min_size=1, max_size=20, unique=True),
    new_rows=st.integers(0, 30),
    scale=st.floats(-100, 100),
    keep_labels=st.booleans(),
)
def test_a_rows_probabilities_depend_neither_on_column_order_nor_on_the_other_rows(
    order, rows, new_rows, scale, keep_labels
):
    frame, preprocessing, model, expected = _trained()
    other = write_table(Path(tempfile.mkdtemp()) / "o.csv", n=max(new_rows, 1), seed=new_rows).head(new_rows)
    other[["x1", "x2", "x3", "x4"]] *= scale  # rows of another scale would move a refitted standardisation
    other["id"] = [f"new{i}" for i in range(new_rows)]
    other["site"] = np.where(np.arange(new_rows) % 2, "west", other["site"])  # a category the run never saw
    mixed = pd.concat([frame.iloc[rows], other]).assign(note="extra column").sample(frac=1.0, random_state=len(rows))
    mixed = mixed[[c for c in order if keep_labels or c not in TASKS]]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mixed.csv"
        mixed.to_csv(path, index=False)
        got = _probabilities(model, _applied(path, preprocessing))
    assert set(got) == set(mixed["id"])
    for i in frame["id"].iloc[rows]:
        np.testing.assert_allclose(got[i], expected[i], rtol=0, atol=1e-6)


def test_the_run_keeps_what_it_fitted_and_its_own_file_gets_the_same_inputs(tmp_path):
    path = tmp_path / "t.csv"
    write_table(path)
    dm = _fitted(path)
    saved = dm.state_dict()[PREPROCESSING_KEY]  # what Lightning puts in every checkpoint
    assert saved["label_columns"] == TASKS and saved["file"] == str(path.resolve())
    assert saved["inputs"]["numeric"] == ["x1", "x2", "x3", "x4"]
    assert saved["inputs"]["categories"] == {"site": ["north", "south"]}
    assert np.allclose(saved["inputs"]["mean"], dm.mean) and np.allclose(saved["inputs"]["std"], dm.std)
    again = _applied(path, saved, whole_file=False)  # the test split of the run's own file, as in training
    for split in ("train", "val", "test"):
        assert torch.equal(again.splits[split].x, dm.splits[split].x)


def test_a_missing_feature_column_is_named_with_the_fix(tmp_path):
    write_table(tmp_path / "t.csv")
    saved = _fitted(tmp_path / "t.csv").fitted_preprocessing()
    write_table(tmp_path / "new.csv").drop(columns=["x3", "a"]).to_csv(tmp_path / "new.csv", index=False)
    with pytest.raises(DataError, match=r"lacks the feature column\(s\) \['x3'\] the model was trained on; add them"):
        _applied(tmp_path / "new.csv", saved)


def test_a_text_cell_in_a_numeric_feature_is_named(tmp_path):
    frame = write_table(tmp_path / "t.csv")
    saved = _fitted(tmp_path / "t.csv").fitted_preprocessing()
    frame.astype({"x2": object}).assign(x2=lambda f: f["x2"].where(f.index != 4, "high")).to_csv(tmp_path / "new.csv")
    with pytest.raises(DataError, match=r"column 'x2': the model takes it as a number.*'high' at line 6"):
        _applied(tmp_path / "new.csv", saved)


def test_extra_columns_missing_labels_and_unseen_categories_are_each_said_once(tmp_path, monkeypatch):
    write_table(tmp_path / "t.csv")
    saved = _fitted(tmp_path / "t.csv").fitted_preprocessing()
    frame = write_table(tmp_path / "new.csv", n=10, seed=3, extra=1.5).drop(columns=TASKS)
    frame.assign(site=["west", "east"] * 5).to_csv(tmp_path / "new.csv", index=False)
    lines = []
    monkeypatch.setattr(TableDataModule, "info", lambda self, text, style=None: lines.append(text))
    dm = _applied(tmp_path / "new.csv", saved)
    assert dm.sizes() == {"train": 0, "val": 0, "test": 10}
    assert not dm.splits["test"].mask.any()  # no label column: labels unknown, still predicted
    said = "\n".join(lines)
    assert said.count("['extra'] are not inputs of the model: ignored") == 1
    assert said.count("no label column(s) ['a', 'b', 'c']") == 1
    assert said.count("not seen in the train rows encode as all zeros: 'site': 'west', 'east' (10 rows)") == 1
    assert not dm.splits["test"].x[:, 4:].any()  # the one-hot inputs of unseen categories


def test_an_old_checkpoint_is_refused_for_another_file_and_warns_on_its_own(tmp_path):
    write_table(tmp_path / "t.csv")
    dm = TableDataModule(path=str(tmp_path / "t.csv"), label_columns=TASKS, verbose=False)
    old = {"state_dict": {}}  # written before the preprocessing was kept
    with pytest.raises(CheckpointError, match="written before mtlkit kept a run's fitted preprocessing"):
        use_run_preprocessing(dm, old, ALL_ROWS, other_file=True, file="old.ckpt")
    assert "predates the fitted preprocessing" in use_run_preprocessing(dm, old, "test", other_file=False, file="x")
    assert dm.fitted is None  # the run's own file: refitted on the same train rows, as in training


def test_images_are_resized_and_normalised_as_in_the_run(tmp_path):
    path = write_image_set(tmp_path / "set", n=24, size=12)
    run = ImageDataModule(path=str(path), label_columns=["red", "blue", "bright"], verbose=False, cache_dir=None)
    run.setup()
    saved = run.fitted_preprocessing()
    other = write_image_set(tmp_path / "other", n=6, size=20, seed=5)  # other images, another size
    pd.read_csv(other).drop(columns=["red", "blue", "bright"]).to_csv(other, index=False)
    dm = ImageDataModule(path=str(other), verbose=False, cache_dir=None)
    dm.use_fitted(saved, whole_file=True)
    dm.setup()
    assert dm.input_shape == run.input_shape and dm.tasks == run.tasks
    assert (dm.mean, dm.std) == (run.mean, run.std) and dm.sizes()["test"] == 6


def test_split_all_is_refused_for_data_that_is_not_a_file():
    from mtlkit.data.base import MultiLabelDataModule
    from mtlkit.errors import ConfigError

    with pytest.raises(ConfigError, match="--split all predicts every row of a file.*choose --split train"):
        use_run_preprocessing(MultiLabelDataModule(), {}, ALL_ROWS, other_file=False, file="x.ckpt")
    assert use_run_preprocessing(MultiLabelDataModule(), {}, "test", other_file=False, file="x.ckpt") is None
