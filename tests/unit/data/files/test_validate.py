"""Every malformed input gets one line that names the file, the row or column, and the fix."""

import numpy as np
import pandas as pd
import pytest

from mtlkit.data.sources.images import ImageDataModule
from mtlkit.data.sources.table import TableDataModule
from mtlkit.errors import DataError
from tests.helpers.userdata import TASKS, write_image_set, write_table


def _load_table(path, **kw):
    dm = TableDataModule(path=str(path), label_columns=kw.pop("label_columns", TASKS), verbose=False, **kw)
    dm.setup()
    return dm


def _error(path, **kw) -> str:
    with pytest.raises(DataError) as err:
        _load_table(path, **kw)
    msg = str(err.value)
    assert "\n" not in msg, msg
    return msg


def test_missing_file(tmp_path):
    msg = _error(tmp_path / "nope.csv")
    assert "nope.csv" in msg and "does not exist" in msg and "data.path" in msg


def test_unknown_file_type(tmp_path):
    path = tmp_path / "t.xlsx"
    path.write_text("a,b\n")
    msg = _error(path)
    assert "t.xlsx" in msg and ".csv" in msg and ".parquet" in msg


def test_empty_file(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("")
    msg = _error(path)
    assert str(path) in msg and "empty" in msg and "header" in msg


def test_header_without_rows(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("x1,a,b,c\n")
    msg = _error(path)
    assert str(path) in msg and "no rows" in msg


def test_blank_lines_are_skipped_and_line_numbers_still_match_the_file(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("x1,a\n1.0,1\n\n2.0,0\n3.0,oops\n")
    with pytest.raises(DataError, match=r"t.csv, line 5, column 'a': label cell 'oops'"):
        _load_table(path, label_columns=["a"])


def test_duplicate_columns_csv_and_parquet(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("x1,a,b,a\n1,1,0,1\n")
    msg = _error(path)
    assert "duplicate column" in msg and "'a' (columns 2, 4)" in msg and str(path) in msg and "own name" in msg
    path = tmp_path / "t.parquet"
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table([[1.0], [1], [0]], names=["x1", "a", "a"]), path)
    assert "'a' (columns 2, 3)" in _error(path)


def test_missing_label_column_suggests_the_closest_name(tmp_path):
    path = tmp_path / "t.csv"
    write_table(path)
    msg = _error(path, label_columns=["a", "bb"])
    assert "['bb']" in msg and "data.label_columns" in msg and "did you mean 'b'" in msg and str(path) in msg


def test_pattern_matching_nothing(tmp_path):
    path = tmp_path / "t.csv"
    write_table(path)
    msg = _error(path, label_columns="label_*")
    assert "'label_*' matches no column" in msg and "x1" in msg


def test_missing_feature_and_group_columns(tmp_path):
    path = tmp_path / "t.csv"
    write_table(path)
    assert "data.feature_columns" in _error(path, feature_columns=["x1", "x9"])
    assert "data.group_column" in _error(path, group_column="patient")


def test_bad_label_cell_names_file_line_column_value(tmp_path):
    path = tmp_path / "t.csv"
    frame = write_table(path, n=20)
    frame.loc[12, "c"] = "2"
    frame.to_csv(path, index=False)
    msg = _error(path)
    assert f"{path}, line 14, column 'c': label cell '2'" in msg and "Accepted: 1/0" in msg


def test_bad_label_cell_in_parquet_names_the_row(tmp_path):
    path = tmp_path / "t.parquet"
    frame = write_table(path, n=20)
    frame.loc[0, "a"] = "maybe"
    frame.to_parquet(path)
    assert f"{path}, row 1, column 'a'" in _error(path)


def test_task_without_any_labelled_entry(tmp_path):
    path = tmp_path / "t.csv"
    frame = write_table(path, n=20)
    frame["b"] = ["?", "", "-1", "?"] * 5
    frame.to_csv(path, index=False)
    msg = _error(path)
    assert "['b']" in msg and "no labelled entry" in msg and "uncertain" in msg and "data.label_columns" in msg
    _load_table(path, uncertain="zeros")  # the -1 cells count as 0 then


@pytest.mark.parametrize("bad,kind", [(np.nan, "blank/NaN"), (np.inf, "inf")])
def test_nan_or_inf_features(tmp_path, bad, kind):
    path = tmp_path / "t.csv"
    frame = write_table(path, n=20)
    frame.loc[[3, 5], "x2"] = bad
    frame.to_csv(path, index=False)
    msg = _error(path)
    assert "'x2': 2" in msg and kind in msg and "lines 5, 7" in msg and "data.drop_columns=[x2]" in msg


def test_text_in_a_numeric_feature_column(tmp_path):
    path = tmp_path / "t.csv"
    frame = write_table(path, n=40)
    frame["x3"] = frame["x3"].astype(object)
    frame.loc[6, "x3"] = "1,5"
    frame.to_csv(path, index=False)
    msg = _error(path)
    assert "'x3'" in msg and "'1,5'" in msg and "line 8" in msg and "data.drop_columns=[x3]" in msg


def test_text_column_with_too_many_values_or_categorical_error(tmp_path):
    path = tmp_path / "t.csv"
    write_table(path, n=80, name=[f"person {i}" for i in range(80)])
    msg = _error(path)
    assert "'name'" in msg and "80 distinct values" in msg and "data.drop_columns=[name]" in msg
    assert "data.id_column" in msg
    msg = _error(path, drop_columns=["name"], categorical="error")
    assert "'site'" in msg and "data.categorical=error" in msg


def test_split_column_with_an_unknown_value(tmp_path):
    path = tmp_path / "t.csv"
    write_table(path, n=10, split=["train"] * 6 + ["val", "holdout", "test", "test"])
    msg = _error(path)
    assert f"{path}, line 9, column 'split': split 'holdout'" in msg and "data.split_column=null" in msg


def test_split_column_without_train_rows(tmp_path):
    path = tmp_path / "t.csv"
    write_table(path, n=10, split=["val"] * 5 + ["test"] * 5)
    assert "marks no row as train" in _error(path)


def test_too_few_rows_for_three_splits(tmp_path):
    path = tmp_path / "t.csv"
    write_table(path, n=4)
    msg = _error(path)
    assert "empty" in msg and "data.val_fraction" in msg


def _images(folder, **kw):
    dm = ImageDataModule(path=str(folder / "labels.csv"), image_size=8, verbose=False, cache_dir=None, **kw)
    dm.setup()
    return dm


def test_missing_and_unreadable_images_fail_naming_them(tmp_path):
    write_image_set(tmp_path, n=24)
    (tmp_path / "img" / "003.png").unlink()
    (tmp_path / "img" / "007.png").write_bytes(b"not a png")
    frame = pd.read_csv(tmp_path / "labels.csv")
    frame.loc[10, "path"] = np.nan
    frame.to_csv(tmp_path / "labels.csv", index=False)
    for in_memory in (True, False):
        with pytest.raises(DataError) as err:
            _images(tmp_path, in_memory=in_memory)
        msg = str(err.value)
        assert "3 of 24 images" in msg and "2 missing" in msg and "1 unreadable" in msg
        assert "'img/003.png'" in msg and "'(blank path)'" in msg and "'img/007.png'" in msg
        assert "labels.csv, line 5" in msg  # the first missing one
        assert "data.skip_bad_images=true" in msg and "data.root" in msg
        dm = _images(tmp_path, in_memory=in_memory, skip_bad_images=True, val_fraction=0.25, test_fraction=0.25)
        assert sum(dm.sizes().values()) == 21
        all_ids = {i for sp in dm.splits.values() for i in sp.ids}
        assert not all_ids & {"line 5", "line 9", "line 12"}


def test_missing_path_column(tmp_path):
    write_image_set(tmp_path, n=8)
    with pytest.raises(DataError, match="data.path_column.*did you mean 'path'"):
        _images(tmp_path, path_column="paths")


def test_wrong_root_names_the_root(tmp_path):
    write_image_set(tmp_path, n=8)
    with pytest.raises(DataError, match="8 of 8 images under data.root='/nowhere'"):
        _images(tmp_path, root="/nowhere")
    with pytest.raises(DataError, match="no image is left"):
        _images(tmp_path, root="/nowhere", skip_bad_images=True)


def test_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes("x1,caf\xe9,b,c\n1,1,0,1\n".encode("latin-1"))
    assert "not UTF-8" in _error(path)
