"""mtlkit-report's paired-by-seed statistics: Δm paired with its baseline's same-seed run, a 95 % interval, the
verdict, each task's paired gain and the worst task, in the terminal, report.md and the CSV files."""

from __future__ import annotations

import json
import math
from dataclasses import asdict

import pytest

from mtlkit.report.build import Options, build_report
from mtlkit.report.paired import Paired, paired
from mtlkit.report.tables import summary_records, task_delta_records
from mtlkit.report.write import write_report
from tests.helpers import read_csv_rows
from tests.helpers.reports import write_run

# Seeds differ a lot (0.70 .. 0.90), but in every pair `shared` beats `separate` on car by +0.02 and loses on
# pedestrian by -0.01: the unpaired spread hides what the pairs show.
BASE = {0: (0.70, 0.80), 1: (0.80, 0.85), 2: (0.90, 0.75)}


def _sweep(tmp_path, shift=(0.02, -0.01), seeds=(0, 1, 2), extra_base_seed: int | None = None):
    for s in seeds:
        car, ped = BASE[s]
        write_run(
            tmp_path / f"sep{s}",
            {"approach": "separate", "seed": s},
            {"car": {"auroc": car}, "pedestrian": {"auroc": ped}},
        )
        write_run(
            tmp_path / f"mt{s}",
            {"approach": "multitask", "seed": s},
            {"car": {"auroc": car + shift[0] + 0.001 * s}, "pedestrian": {"auroc": ped + shift[1]}},
        )
    if extra_base_seed is not None:
        write_run(
            tmp_path / "mt_unpaired",
            {"approach": "multitask", "seed": extra_base_seed},
            {"car": {"auroc": 0.5}, "pedestrian": {"auroc": 0.5}},
        )
    return build_report([tmp_path], Options())


def test_pairs_show_what_the_seed_spread_hides(tmp_path):
    report = _sweep(tmp_path)
    row = next(r for r in report.rows if r.group.value("approach") == "multitask")
    p = row.paired
    assert p.delta.n == 3 and p.delta.verdict in ("better", "worse", "tie")
    car, ped = p.per_task["car"], p.per_task["pedestrian"]
    assert car.verdict == "better" and car.low > 0
    assert ped.verdict == "worse" and ped.high < 0
    assert p.worst_task[0] == "pedestrian"
    expected = sum((0.02 + 0.001 * s) / BASE[s][0] * 100 for s in range(3)) / 3
    assert car.mean == pytest.approx(expected)
    assert row.deltas["auroc"].std > abs(car.high - car.low) / 10  # the unpaired spread is far wider


def test_the_report_writes_the_verdict_and_the_per_task_table(tmp_path):
    report = _sweep(tmp_path / "runs")
    written = write_report(report, tmp_path / "out", [], "t", [])
    text = (tmp_path / "out" / "report.md").read_text()
    assert "paired Δm, 95 % CI" in text and "gain per task over the baseline" in text
    rows = read_csv_rows(tmp_path / "out" / "per_task_delta.csv")
    assert {r["task"]: r["verdict"] for r in rows} == {"car": "better", "pedestrian": "worse"}
    summary = {r["approach"]: r for r in summary_records(report)}
    assert summary["multitask"]["worst_task"] == "pedestrian" and summary["multitask"]["paired_n"] == 3
    assert summary["separate"]["verdict"] == ""
    assert any(p.name == "per_task_delta.csv" for p in written)


def test_a_seed_without_a_partner_is_left_out_of_the_pairs(tmp_path):
    report = _sweep(tmp_path, extra_base_seed=7)
    row = next(r for r in report.rows if r.group.value("approach") == "multitask")
    assert row.paired.delta.n == 3 and row.paired.unpaired == ("7",)
    assert len(task_delta_records(report)) == 2


@pytest.mark.parametrize(
    ("mean", "low", "high", "n", "expected"),
    [
        (1.0, 0.2, 1.8, 3, "better"),
        (-1.0, -1.8, -0.2, 3, "worse"),
        (0.4, 0.1, 0.7, 3, "no meaningful difference"),  # the interval excludes 0, the mean is under the floor
        (-0.47, -0.82, -0.12, 5, "no meaningful difference"),
        (2.0, -0.5, 4.5, 3, "no meaningful difference"),
        (2.0, float("nan"), float("nan"), 1, "undecided"),
    ],
)
def test_the_floor_turns_a_small_effect_into_no_meaningful_difference(mean, low, high, n, expected):

    assert Paired(mean, low, high, n, 0.1).verdict_at(0.5) == expected
    if expected == "no meaningful difference" and (low > 0 or high < 0):
        assert Paired(mean, low, high, n, 0.1).verdict in ("better", "worse")  # without the floor it counts


def test_min_effect_turns_a_consistent_but_small_gain_into_no_meaningful_difference(tmp_path):
    """+0.002 AUROC on car in every pair (about +0.25 %): better by the interval, not by --min-effect 0.5."""
    _sweep(tmp_path / "runs", shift=(0.002, 0.002))
    plain = build_report([tmp_path / "runs"], Options())
    floored = build_report([tmp_path / "runs"], Options(min_effect=0.5))
    row = lambda r: next(x for x in summary_records(r) if x["approach"] == "multitask")  # noqa: E731
    assert row(plain)["verdict"] == "better"
    assert row(floored)["verdict"] == "no meaningful difference"
    car = lambda r: next(x for x in task_delta_records(r) if x["task"] == "car")  # noqa: E731
    assert car(plain)["verdict"] == "better" and car(floored)["verdict"] == "no meaningful difference"
    written = write_report(floored, tmp_path / "out", [], "t", [])
    md = next(p for p in written if p.name == "report.md").read_text()
    assert "With --min-effect 0.5" in md and "no meaningful difference" in md


def test_a_negative_min_effect_is_refused():
    from mtlkit.errors import ConfigError

    with pytest.raises(ConfigError, match="--min-effect -1"):
        Options(min_effect=-1.0)


def test_a_paired_record_round_trips_through_json_with_nulls():
    """verdict.json writes NaN as null; from_record reads it back as NaN (undecided), never as 0 or an error."""
    p = paired([1.0, 2.0, 1.5])
    again = Paired.from_record(json.loads(json.dumps(asdict(p))))
    assert again == p and again.verdict == "better"
    one = Paired.from_record({"mean": 0.7, "low": None, "high": None, "n": 1, "std": None})
    assert one.mean == 0.7 and math.isnan(one.low) and one.n == 1 and one.verdict == "undecided"
    assert Paired.from_record({"mean": 0.7}).n == 0
