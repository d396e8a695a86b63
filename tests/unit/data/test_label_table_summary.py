"""The label table at hundreds of tasks (ToxCast has 617): by default the most and least labelled tasks and one line
on the spread; data.label_table=full prints every task."""

import io

import pytest
from rich.console import Console

from mtlkit.data.summary import EXTREME_ROWS, extreme_tasks, print_label_table
from mtlkit.errors import ConfigError


def _counts(n_tasks: int) -> tuple[dict, list[str]]:
    tasks = [f"task{j:03d}" for j in range(n_tasks)]
    counts = {
        split: {t: {"pos": j % 7, "neg": 10 * j + 1, "unknown": 5} for j, t in enumerate(tasks)}
        for split in ("train", "val", "test")
    }
    return counts, tasks


def _printed(counts, tasks, **kw) -> str:
    buffer = io.StringIO()
    print_label_table(counts, tasks, console=Console(file=buffer, width=200), **kw)
    return buffer.getvalue()


def test_many_tasks_show_the_extremes_and_the_spread():
    counts, tasks = _counts(617)
    text = _printed(counts, tasks, caption="file.csv: train 1.")
    assert "task616" in text and "task607" in text and "task000" in text and "task009" in text  # most / least
    assert "task300" not in text
    assert f"... {617 - 2 * EXTREME_ROWS} more" in text
    assert "617 tasks" in text and "data.label_table=full" in text and "file.csv: train 1." in text
    assert len(text.splitlines()) < 60


def test_full_prints_every_task_and_few_tasks_are_always_printed_whole():
    counts, tasks = _counts(617)
    full = _printed(counts, tasks, full=True)
    assert all(t in full for t in tasks)
    few_counts, few = _counts(12)
    text = _printed(few_counts, few)
    assert all(t in text for t in few) and "more" not in text


def test_extremes_are_ordered_by_labelled_entries_with_ties_in_task_order():
    counts, tasks = _counts(30)
    top, bottom = extreme_tasks(counts, tasks, 3)
    assert top == ["task029", "task028", "task027"] and bottom == ["task002", "task001", "task000"]


def test_an_unknown_label_table_mode_is_refused():
    from mtlkit.data.sources.noise import NoiseDataModule as Noise

    with pytest.raises(ConfigError, match="data.label_table='wide'"):
        Noise(label_table="wide")
