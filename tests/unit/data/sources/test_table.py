"""data=table: features, standardisation on train only, categorical columns, Parquet, and the CLI end to end."""

import numpy as np
import pandas as pd
import pytest
import torch

from mtlkit.data.sources.table import TableDataModule
from mtlkit.errors import ConfigError
from tests.conftest import REPO
from tests.helpers.userdata import TASKS, write_table


def _dm(path, **kw) -> TableDataModule:
    dm = TableDataModule(path=str(path), label_columns=kw.pop("label_columns", TASKS), verbose=False, **kw)
    dm.setup()
    return dm


def test_batch_contract_and_features(tmp_path):
    path = tmp_path / "t.csv"
    write_table(path)
    dm = _dm(path)
    assert dm.tasks == TASKS
    assert dm.feature_names == ["x1", "x2", "x3", "x4", "site=north", "site=south"]  # id is not a feature
    assert dm.input_shape == (6,)
    batch = next(iter(dm.train_dataloader()))
    assert set(batch) == {"x", "y", "mask", "index"}
    assert batch["x"].dtype == torch.float32 and batch["y"].dtype == torch.float32 and batch["mask"].dtype == torch.bool
    assert torch.all(batch["y"][~batch["mask"]] == 0) and not torch.isnan(batch["y"]).any()
    assert sum(dm.sizes().values()) == 120


def test_standardisation_is_fitted_on_train_rows_only(tmp_path):
    path = tmp_path / "t.csv"
    frame = write_table(path)
    dm = _dm(path)
    train_ids = dm.splits["train"].ids
    raw = frame.set_index("id").loc[train_ids, ["x1", "x2", "x3", "x4"]].to_numpy()
    assert np.allclose(dm.mean, raw.mean(0)) and np.allclose(dm.std, raw.std(0))
    x = dm.splits["train"].x[:, :4]
    assert torch.allclose(x.mean(0), torch.zeros(4), atol=1e-5)
    assert torch.allclose(x.std(0, unbiased=False), torch.ones(4))
    test_raw = frame.set_index("id").loc[dm.splits["test"].ids, ["x1", "x2", "x3", "x4"]].to_numpy()
    assert np.allclose(dm.splits["test"].x[:, :4].numpy(), (test_raw - dm.mean) / dm.std, atol=1e-5)


def test_labels_follow_the_rows(tmp_path):
    path = tmp_path / "t.csv"
    frame = write_table(path).set_index("id")
    dm = _dm(path)
    for split in ("train", "val", "test"):
        sp = dm.splits[split]
        cells = frame.loc[sp.ids, TASKS].to_numpy()
        assert np.array_equal(sp.mask.numpy(), np.isin(cells.astype(str), ["0", "1"]))
        assert np.array_equal(sp.y.numpy(), (cells == "1").astype(np.float32))


def test_feature_columns_drop_columns_and_label_pattern(tmp_path):
    path = tmp_path / "t.csv"
    write_table(path)
    dm = _dm(path, feature_columns=["x1", "x2"])
    assert dm.feature_names == ["x1", "x2"]
    dm = _dm(path, drop_columns=["site", "x4"])
    assert dm.feature_names == ["x1", "x2", "x3"]
    dm = _dm(path, label_columns="[ab]", drop_columns=["c", "x*"])
    assert dm.tasks == ["a", "b"] and dm.feature_names == ["site=north", "site=south"]


def test_categories_come_from_train_and_unseen_ones_encode_as_zeros(tmp_path):
    path = tmp_path / "t.csv"
    frame = write_table(path, n=60)
    frame["site"] = ["north"] * 60
    frame["split"] = ["train"] * 40 + ["val"] * 10 + ["test"] * 10
    frame.loc[55, "site"] = "moon"  # only in test
    frame.loc[3, "site"] = np.nan  # a blank cell is a category of its own
    frame.to_csv(path, index=False)
    dm = _dm(path)
    assert dm.feature_names[4:] == ["site=(blank)", "site=north"]
    onehot = dm.splits["test"].x[:, 4:]
    row = dm.splits["test"].ids.index("r55")
    assert onehot[row].tolist() == [0.0, 0.0]


def test_parquet_and_split_column(tmp_path):
    path = tmp_path / "t.parquet"
    write_table(path, n=50, split=["train"] * 30 + ["val"] * 10 + ["test"] * 10)
    dm = _dm(path)
    assert dm.sizes() == {"train": 30, "val": 10, "test": 10}
    assert dm.splits["val"].ids == [f"r{i}" for i in range(30, 40)]


def test_missing_splits_are_carved_out_of_train(tmp_path):
    path = tmp_path / "t.csv"
    write_table(path, n=100, split=["train"] * 90 + ["test"] * 10)
    dm = _dm(path, val_fraction=0.2)
    sizes = dm.sizes()
    assert sizes["test"] == 10 and sizes["train"] + sizes["val"] == 90 and abs(sizes["val"] - 18) <= 2
    assert set(dm.splits["test"].ids) == {f"r{i}" for i in range(90, 100)}
    assert "val carved out" in dm.split_source


def test_uncertain_cells_per_policy_and_in_the_counts(tmp_path):
    path = tmp_path / "t.csv"
    frame = write_table(path, n=80)
    frame["c"] = ["-1", "1", "0", "?"] * 20
    frame.to_csv(path, index=False)
    for policy, pos, neg, unknown in (("ignore", 20, 20, 40), ("zeros", 20, 40, 20), ("ones", 40, 20, 20)):
        dm = _dm(path, uncertain=policy, uncertain_eval=None, val_fraction=0.25, test_fraction=0.25)
        total = {k: sum(dm.label_counts()[s]["c"][k] for s in dm.splits) for k in ("pos", "neg", "unknown")}
        assert total == {"pos": pos, "neg": neg, "unknown": unknown}
        assert sum(dm.label_counts()[s]["c"]["uncertain"] for s in dm.splits) == 20
    dm = _dm(path, uncertain="ones", val_fraction=0.25, test_fraction=0.25)  # eval: ignore by default
    assert dm.label_counts()["test"]["c"]["pos"] == 5 and dm.label_counts()["test"]["c"]["unknown"] == 10


def test_config_errors(tmp_path):
    path = tmp_path / "t.csv"
    write_table(path)
    with pytest.raises(ConfigError, match="data.label_columns is not set"):
        _dm(path, label_columns=None)
    with pytest.raises(ConfigError, match="data.path is not set"):
        TableDataModule(path=None, label_columns=TASKS)
    with pytest.raises(ConfigError, match="data.categorical"):
        _dm(path, categorical="hash")
    with pytest.raises(ConfigError, match="data.uncertain"):
        _dm(path, uncertain="maybe")


def test_table_reads_examples_shipped_in_the_repo():
    path = REPO / "examples" / "table" / "patients.csv"
    dm = _dm(path)
    assert dm.tasks == TASKS and len(dm.feature_names) == 6 + 3
    assert sum(dm.sizes().values()) == len(pd.read_csv(path))
    assert any(v["uncertain"] for v in dm.label_counts()["train"].values())


def test_label_table_shows_uncertain_counts_and_the_policy(tmp_path):
    from rich.console import Console

    from mtlkit.data.summary import print_label_table

    path = tmp_path / "t.csv"
    frame = write_table(path, n=80)
    frame["c"] = ["-1", "1", "0", "?"] * 20
    frame.to_csv(path, index=False)
    dm = _dm(path, uncertain="ones")
    console = Console(record=True, width=200)
    print_label_table(dm.label_counts(), dm.tasks, console=console, caption=dm.label_table_caption())
    text = console.export_text()
    assert "train: pos / neg / ? / unc" in text
    c_row = next(line for line in text.splitlines() if line.startswith("│ c "))
    train = dm.label_counts()["train"]["c"]
    assert f"{train['pos']} / {train['neg']} / {train['unknown']} / {train['uncertain']}" in c_row
    assert "counted as pos in train (data.uncertain=ones)" in text
    assert "seeded fractions 0.8/0.1/0.1" in text


def test_a_five_row_table_trains_and_a_four_row_one_says_what_each_split_needs(tmp_path):
    """Issue 24: a 5-row table (train/val/test = 2/1/2) crashed with IndexError in the one-row val metrics."""
    from mtlkit.errors import DataError
    from mtlkit.run import train
    from tests.helpers import compose_config

    path = tmp_path / "five.csv"
    pd.read_csv(REPO / "examples" / "table" / "patients.csv").head(5).to_csv(path, index=False)
    overrides = ["data=table", f"data.path={path}", "data.label_columns=[a,b,c]", "model=mlp", "model.width=8"]
    overrides += ["trainer.max_epochs=1", "logger=csv", "callbacks.rich_progress_bar=null"]
    results = train(compose_config(overrides, tmp_path / "run"))
    assert results["data"]["sizes"] == {"train": 2, "val": 1, "test": 2}
    assert results["metrics"]["val"]["example_based"]["n_examples"] == 1
    pd.read_csv(path).head(4).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"train/val/test = \[3, 1, 0\].*each split needs at least 1 row"):
        _dm(path)
