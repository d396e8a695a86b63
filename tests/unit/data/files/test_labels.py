"""Label cells: every accepted form, every rejected form, and the uncertain policies."""

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mtlkit.data.files.labels import (
    NEGATIVE,
    POSITIVE,
    UNCERTAIN,
    UNKNOWN,
    labels_from_codes,
    parse_label_cells,
    parse_label_frame,
)
from mtlkit.errors import ConfigError, DataError

ACCEPTED = {
    POSITIVE: ["1", "1.0", "true", "yes", "TRUE", "True", "YES", "Yes", " 1 ", "\tyes", "1.00", "+1", 1, 1.0, True],
    NEGATIVE: ["0", "0.0", "false", "no", "FALSE", "False", "NO", "No", " 0", "no ", "0.00", "-0", 0, 0.0, False],
    UNCERTAIN: ["-1", "-1.0", " -1 ", -1, -1.0],
    UNKNOWN: ["", " ", "?", " ? ", "nan", "NaN", "NA", "n/a", "N/A", "null", "None", None, np.nan, pd.NA],
}
REJECTED = ["2", "-2", "0.5", "maybe", "y", "n", "t", "f", "positive", "1/0", "??", "inf", "-inf", "1 0", "x", "oui"]


def _where(i: int) -> str:
    return f"file.csv, line {i + 2}"


@pytest.mark.parametrize("code,value", [(c, v) for c, vs in ACCEPTED.items() for v in vs])
def test_every_accepted_form_alone_and_mixed_with_text(code, value):
    # alone (the column may come out numeric or bool) and mixed with other forms (an object/str column)
    for cells in ([value], [value, "yes", "?"]):
        codes, bad = parse_label_cells(pd.Series(cells, dtype=object))
        assert not bad.any() and codes[0] == code
    if not isinstance(value, str):
        codes, bad = parse_label_cells(pd.Series([value]))
        assert not bad.any() and codes[0] == code


@pytest.mark.parametrize("value", REJECTED)
def test_every_rejected_form_is_flagged(value):
    codes, bad = parse_label_cells(pd.Series(["1", value, "0"]))
    assert bad.tolist() == [False, True, False]


@pytest.mark.parametrize("values", [[2, 0, 1], [0.5, 1.0, 0.0], [np.inf, 0.0, 1.0], [-2, 1, 0]])
def test_numeric_columns_reject_other_numbers(values):
    _, bad = parse_label_cells(pd.Series(values))
    assert bad.tolist() == [True, False, False]


def test_numeric_and_nullable_dtypes():
    codes, bad = parse_label_cells(pd.Series([1, 0, -1, None], dtype="Int64"))
    assert codes.tolist() == [POSITIVE, NEGATIVE, UNCERTAIN, UNKNOWN] and not bad.any()
    codes, bad = parse_label_cells(pd.Series([True, False, None], dtype="boolean"))
    assert codes.tolist() == [POSITIVE, NEGATIVE, UNKNOWN] and not bad.any()


_FORMS = st.sampled_from([(c, v) for c, vs in ACCEPTED.items() for v in vs if isinstance(v, str)])


@given(st.lists(_FORMS, min_size=1, max_size=40))
def test_any_mix_of_accepted_text_forms_parses_cell_by_cell(cells):
    codes, bad = parse_label_cells(pd.Series([v for _, v in cells], dtype=object))
    assert not bad.any()
    assert codes.tolist() == [c for c, _ in cells]


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=6))
def test_arbitrary_text_is_either_an_accepted_form_or_flagged(text):
    codes, bad = parse_label_cells(pd.Series([text], dtype=object))
    norm = text.strip().lower()
    number = float(norm) if _NUMBER.fullmatch(norm) else None
    known = norm in {"1", "1.0", "true", "yes", "0", "0.0", "false", "no", "-1", "-1.0", "", "?", "nan"}
    known |= norm in {"na", "n/a", "null", "none", "<na>"} or number in (0.0, 1.0, -1.0)
    assert bool(bad[0]) == (not known)
    if not bad[0]:
        assert codes[0] in (POSITIVE, NEGATIVE, UNCERTAIN, UNKNOWN)


def test_frame_error_names_file_line_column_value_and_accepted_forms():
    frame = pd.DataFrame({"a": ["1", "0", "1", "0"], "b": ["yes", "no", "maybe", "2"]})
    with pytest.raises(DataError) as err:
        parse_label_frame(frame, ["a", "b"], _where)
    msg = str(err.value)
    assert "file.csv, line 4" in msg  # third data row: the header is line 1
    assert "'b'" in msg and "'maybe'" in msg
    assert "1 more bad cell" in msg
    assert "true/false" in msg and "yes/no" in msg and "-1 for uncertain" in msg
    assert "\n" not in msg


def test_frame_error_reports_the_earliest_row_across_columns():
    frame = pd.DataFrame({"a": ["1", "0", "7"], "b": ["1", "x", "1"]})
    with pytest.raises(DataError, match=r"line 3, column 'b': label cell 'x'"):
        parse_label_frame(frame, ["a", "b"], _where)


def test_soft_labels_get_a_hint():
    with pytest.raises(DataError, match="Soft labels"):
        parse_label_frame(pd.DataFrame({"a": [0.3, 1.0]}), ["a"], _where)


CODES = np.array([[POSITIVE, NEGATIVE, UNCERTAIN, UNKNOWN]], dtype=np.int8)


@pytest.mark.parametrize(
    "policy,y,mask",
    [
        ("ignore", [1, 0, 0, 0], [True, True, False, False]),
        ("zeros", [1, 0, 0, 0], [True, True, True, False]),
        ("ones", [1, 0, 1, 0], [True, True, True, False]),
    ],
)
def test_uncertain_policies(policy, y, mask):
    yy, mm, unc = labels_from_codes(CODES, policy)
    assert yy[0].tolist() == y and mm[0].tolist() == mask
    assert unc[0].tolist() == [False, False, True, False]
    assert yy.dtype == np.float32 and not np.isnan(yy).any()


def test_unknown_policy_is_a_config_error():
    with pytest.raises(ConfigError, match="ignore.*zeros.*ones"):
        labels_from_codes(CODES, "U-Ones")
