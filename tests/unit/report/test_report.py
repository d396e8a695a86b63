"""mtlkit-report on hand-made run folders: Δm, mean ± std over seeds, failed and missing runs, plots, errors."""

from __future__ import annotations

import math
import shutil
import statistics
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtlkit.cli.report import main
from mtlkit.errors import ConfigError, DataError
from mtlkit.report import BaselineSpec, Options, build_report
from mtlkit.report.collect import canonical, find_runs
from tests.helpers import only_row, read_csv_rows
from tests.helpers.reports import close, is_png, write_multirun_yaml, write_run

# Two tasks, three seeds. Means: separate a=0.80 b=0.50; multitask a=0.88 b=0.55.
SEPARATE = {0: (0.80, 0.50), 1: (0.82, 0.52), 2: (0.78, 0.48)}
MULTITASK = {0: (0.88, 0.55), 1: (0.90, 0.60), 2: (0.86, 0.50)}
# By hand: per-task gains a: 10%, b: 10% -> Δm = 10. Per seed against the baseline means:
# seed 0: (0.08/0.80 + 0.05/0.50)/2 = 10.00; seed 1: (12.5 + 20)/2 = 16.25; seed 2: (7.5 + 0)/2 = 3.75 -> std 6.25.
HAND_DELTA, HAND_STD = 10.0, 6.25


def _approach_sweep(root: Path, widths=(32,)) -> Path:
    """approach=separate|multitask x seed 0-2 (x model.width), with the metrics above (width 8: everything -0.1)."""
    for width in widths:
        shift = 0.0 if width == 32 else -0.1
        for approach, table in (("separate", SEPARATE), ("multitask", MULTITASK)):
            for seed, (a, b) in table.items():
                overrides = {"approach": approach, "seed": seed}
                if len(widths) > 1:
                    overrides["model.width"] = width
                write_run(
                    root / f"{approach}_w{width}_s{seed}",
                    overrides,
                    {"a": {"auroc": a + shift}, "b": {"auroc": b + shift}},
                )
    return root


def test_delta_m_equals_a_hand_computation(tmp_path):
    report = build_report([_approach_sweep(tmp_path)])
    assert report.keys == ["approach"]
    by_approach = {r.group.value("approach"): r for r in report.rows}
    mt = by_approach["multitask"]
    assert mt.baseline is by_approach["separate"].group
    d = mt.deltas["auroc"]
    assert close(d.value, HAND_DELTA) and close(d.std, HAND_STD) and d.n == 3 and d.tasks == ["a", "b"]
    own = by_approach["separate"].deltas["auroc"]
    assert close(own.value, 0.0)  # the baseline against itself


def test_delta_m_matches_the_baseline_of_the_same_budget(tmp_path):
    """With model.width swept too, each width is compared with the separate networks of that width."""
    report = build_report([_approach_sweep(tmp_path, widths=(8, 32))])
    assert report.keys == ["approach", "model.width"]
    for row in report.rows:
        assert row.baseline is not None
        assert row.baseline.value("model.width") == row.group.value("model.width")
        assert row.baseline.value("approach") == "separate"
    mt8 = next(r for r in report.rows if r.group.values == ("multitask", 8.0))
    # width 8: separate a=0.70 b=0.40, multitask a=0.78 b=0.45 -> (0.08/0.70 + 0.05/0.40)/2 * 100
    assert close(mt8.deltas["auroc"].value, (0.08 / 0.70 + 0.05 / 0.40) / 2 * 100)


def test_cli_writes_tables_with_the_hand_values_and_states_the_convention(tmp_path, capsys):
    sweep = _approach_sweep(tmp_path / "sweep")
    out = tmp_path / "out"
    assert main([str(sweep), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Δm" in printed and "Maninis" in printed and "+10.00 ± 6.25" in printed
    summary = read_csv_rows(out / "summary.csv")
    mt = only_row(summary, approach="multitask")
    assert close(float(mt["delta_m_auroc_pct"]), HAND_DELTA) and close(float(mt["delta_m_auroc_std"]), HAND_STD)
    assert close(float(mt["auroc_mean"]), (0.88 + 0.55 + 0.90 + 0.60 + 0.86 + 0.50) / 6)
    assert mt["n_ok"] == "3" and mt["n_failed"] == "0" and mt["baseline"] == "approach=separate"
    per_task = read_csv_rows(out / "per_task.csv")
    a = only_row(per_task, approach="multitask", task="a", metric="auroc")
    assert close(float(a["mean"]), 0.88) and close(float(a["std"]), 0.02) and a["n"] == "3"
    md = (out / "report.md").read_text()
    assert "Δm convention" in md and "mean over tasks" in md and "| multitask |" in md
    assert "+10.00 ± 6.25" in md


def test_failed_and_missing_runs_are_listed(tmp_path, capsys):
    sweep = tmp_path / "multirun"
    write_multirun_yaml(sweep, ["approach=multitask,separate", "seed=0,1,2"])
    jobs = [(a, s) for a in ("multitask", "separate") for s in (0, 1, 2)]
    metrics = {"a": {"auroc": 0.9}, "b": {"auroc": 0.8}}
    for num, (approach, seed) in enumerate(jobs[:4]):
        write_run(sweep / str(num), {"approach": approach, "seed": seed}, metrics)
    # job 4 crashed (no results.json, the error is in its log); job 5 never started (no folder at all)
    write_run(sweep / "4", {"approach": "separate", "seed": 1}, None, log="[INFO] start\nRuntimeError: boom\n")
    # a run that wrote results.json with status failed
    write_run(sweep / "extra", {"approach": "separate", "seed": 0}, metrics, status="failed", error="NaN loss")
    out = tmp_path / "out"
    assert main([str(sweep), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Failed runs (2)" in printed and "Missing runs (1)" in printed
    assert "RuntimeError: boom" in printed and "NaN loss" in printed
    runs = read_csv_rows(out / "runs.csv")
    assert sorted(r["status"] for r in runs) == ["failed"] * 2 + ["missing"] + ["ok"] * 4
    missing = only_row(runs, status="missing")
    assert missing["approach"] == "separate" and missing["seed"] == "2"
    md = (out / "report.md").read_text()
    assert "## Failed runs (2)" in md and "## Missing runs (1)" in md and "approach=separate seed=2" in md
    summary = read_csv_rows(out / "summary.csv")
    sep = only_row(summary, approach="separate")
    assert sep["n_ok"] == "1" and sep["n_failed"] == "2"
    assert main([str(sweep), "--out", str(out), "--strict"]) == 1


def test_a_configuration_whose_runs_all_failed_is_reported_beside_its_baseline(tmp_path, capsys):
    """E.g. every transfer job of an experiment failed (its pre-training part did not run), the baseline did not."""
    for seed in range(2):
        write_run(tmp_path / f"scratch{seed}", {"approach": "multitask", "seed": seed}, {"a": {"auroc": 0.7}})
        failed = {"approach": "transfer", "seed": seed}
        write_run(tmp_path / f"tr{seed}", failed, {"a": {"auroc": 0.0}}, status="failed", error="no checkpoint")
    out = tmp_path / "out"
    assert main([str(tmp_path), "--out", str(out), "--no-plots", "--baseline", "approach=multitask"]) == 0
    md = (out / "report.md").read_text()
    assert "## Failed runs (2)" in md and "no checkpoint" in md
    transfer = only_row(read_csv_rows(out / "summary.csv"), approach="transfer")
    assert transfer["n_ok"] == "0" and transfer["n_failed"] == "2"


def test_a_folder_where_every_run_failed_is_reported_and_exits_1(tmp_path, capsys):
    write_run(tmp_path / "r0", {"seed": 0}, None)
    assert main([str(tmp_path), "--out", str(tmp_path / "out"), "--no-plots"]) == 1
    printed = capsys.readouterr().out
    assert "Failed runs (1)" in printed and "no results.json" in printed
    assert "at most 0 seed" not in printed and "no configuration has a succeeded run" in printed


def test_a_group_whose_runs_all_failed_is_never_proposed_as_baseline(tmp_path):
    for seed in range(2):
        write_run(tmp_path / f"a{seed}", {"data.missing_rate": 0.0, "seed": seed}, None)  # all failed
        write_run(tmp_path / f"b{seed}", {"data.missing_rate": 0.5, "seed": seed}, {"a": {"auroc": 0.8}})
    note = next(n for n in build_report([tmp_path]).notes if "--baseline" in n)
    assert "data.missing_rate=0.5" in note and "data.missing_rate=0)" not in note


def test_plots_are_valid_pngs(tmp_path):
    import matplotlib.image

    sweep = _approach_sweep(tmp_path / "sweep", widths=(8, 32))
    out = tmp_path / "out"
    assert main([str(sweep), "--out", str(out)]) == 0
    names = sorted(p.name for p in (out / "plots").iterdir())
    assert names == [
        "auroc_per_task_vs_model.width.png",
        "auroc_vs_model.width.png",
        "delta_m_auroc_vs_model.width.png",
    ]
    for p in (out / "plots").iterdir():
        assert is_png(p)
        assert matplotlib.image.imread(p).shape[0] > 100
    assert "![auroc_vs_model.width](plots/auroc_vs_model.width.png)" in (out / "report.md").read_text()


def test_a_baseline_the_x_key_does_not_apply_to_is_drawn_as_a_reference_line(tmp_path):
    """Runs from scratch hold the default source size; with that key ignored they are a horizontal line in the
    plots, not a point at a source size they never used."""
    from mtlkit.report.plots import _series, is_reference_series

    for seed in range(3):
        write_run(
            tmp_path / f"scratch{seed}",
            {"approach": "multitask", "source.num_train": 40000, "seed": seed},
            {"a": {"auroc": 0.9}},
        )
        for size, auroc in ((100, 0.8), (1000, 0.85)):
            write_run(
                tmp_path / f"t{size}_{seed}",
                {"approach": "transfer", "source.num_train": size, "seed": seed},
                {"a": {"auroc": auroc}},
            )
    spec = BaselineSpec.parse("approach=multitask", ["source.num_train"])
    report = build_report([tmp_path], Options(baseline=spec))
    kinds = {
        label: is_reference_series(report, "source.num_train", rows)
        for label, rows in _series(report, "source.num_train").items()
    }
    assert kinds == {"approach=multitask": True, "approach=transfer": False}
    # Without --ignore the scratch runs are not the baseline of any transfer run: no reference line.
    plain = build_report([tmp_path], Options(baseline=BaselineSpec.parse("approach=multitask")))
    assert not any(
        is_reference_series(plain, "source.num_train", rows) for rows in _series(plain, "source.num_train").values()
    )
    out = tmp_path / "out"
    args = [str(tmp_path), "--out", str(out), "--baseline", "approach=multitask", "--ignore", "source.num_train"]
    assert main(args) == 0
    assert is_png(out / "plots" / "auroc_vs_source.num_train.png")
    assert is_png(out / "plots" / "delta_m_auroc_vs_source.num_train.png")


def test_c4_shaped_report_plots_against_a_key_its_baseline_lacks_with_dollar_values(tmp_path):
    """C4's shape: multitask runs sweep other_labels and hold an unresolved ${...} value; the separate baseline has
    neither. The plots are drawn against other_labels (the baseline as a reference line), and the "$" in the values
    is text, not matplotlib mathtext (which raised a parse error here)."""
    from mtlkit.report.plots import numeric_keys

    unresolved = {"rate": "${oc.select:'n${k}'}"}  # as C4's per-task missing rates are recorded
    for seed in range(2):
        write_run(tmp_path / f"sep{seed}", {"approach": "separate", "rate": 0.9, "seed": seed}, {"a": {"auroc": 0.8}})
        for other, auroc in ((0, 0.7), (100, 0.6), (1000, 0.65)):
            overrides = {"approach": "multitask", "other_labels": other, "seed": seed}
            write_run(tmp_path / f"mt{other}_{seed}", overrides, {"a": {"auroc": auroc}}, config=unresolved)
    spec = BaselineSpec.parse("approach=separate", ["other_labels", "rate"])
    assert numeric_keys(build_report([tmp_path], Options(baseline=spec))) == ["other_labels"]
    out = tmp_path / "out"
    args = [str(tmp_path), "--out", str(out), "--ignore", "other_labels", "rate"]
    assert main(args) == 0
    names = sorted(p.name for p in (out / "plots").iterdir())
    assert names == [
        "auroc_per_task_vs_other_labels.png",
        "auroc_vs_other_labels.png",
        "delta_m_auroc_vs_other_labels.png",
    ]
    assert all(is_png(p) for p in (out / "plots").iterdir())
    # Nothing numeric swept: bar plots, whose tick labels hold every swept value, the "$" one included.
    bars = tmp_path / "bars"
    for run in [*tmp_path.glob("sep*"), *tmp_path.glob("mt0_*")]:
        shutil.copytree(run, bars / run.name)
    assert main([str(bars), "--out", str(tmp_path / "bars_out"), "--ignore", "rate"]) == 0
    assert sorted(p.name for p in (tmp_path / "bars_out" / "plots").iterdir()) == [
        "auroc_by_configuration.png",
        "delta_m_auroc_by_configuration.png",
    ]


def test_plot_lines_are_labelled_by_matched_keys_and_by_ignored_keys_only_when_needed(tmp_path):
    """C8's shape: two transfer sources (an --ignore key) that must stay two lines, and a from-scratch baseline."""
    from mtlkit.report.plots import _series

    for seed in range(2):
        for size in (50, 200):
            write_run(
                tmp_path / f"s{size}_{seed}",
                {"approach": "multitask", "data.num_train": size, "seed": seed},
                {"a": {"auroc": 0.7}},
                config={"source": {"name": "related"}},
            )
            for source, auroc in (("noise", 0.69), ("related", 0.8)):
                overrides = {"approach": "transfer", "source.name": source, "data.num_train": size, "seed": seed}
                write_run(tmp_path / f"{source}{size}_{seed}", overrides, {"a": {"auroc": auroc}})
    spec = BaselineSpec.parse("approach=multitask", ["source.name"])
    report = build_report([tmp_path], Options(baseline=spec))
    labels = sorted(_series(report, "data.num_train"))
    assert labels == [
        "approach=multitask, source.name=related",
        "approach=transfer, source.name=noise",
        "approach=transfer, source.name=related",
    ]
    # Lines that the matched keys tell apart drop the ignored keys from their labels.
    runs = [tmp_path / f"s{size}_{seed}" for size in (50, 200) for seed in range(2)]
    runs += [tmp_path / f"noise{size}_{seed}" for size in (50, 200) for seed in range(2)]
    report = build_report(runs, Options(baseline=spec))
    assert sorted(_series(report, "data.num_train")) == ["approach=multitask", "approach=transfer"]


def test_bar_plots_when_no_numeric_parameter_is_swept(tmp_path):
    out = tmp_path / "out"
    assert main([str(_approach_sweep(tmp_path / "sweep")), "--out", str(out), "--metric", "ap"]) == 0
    names = sorted(p.name for p in (out / "plots").iterdir())
    assert names == ["ap_by_configuration.png", "delta_m_ap_by_configuration.png"]
    assert all(is_png(p) for p in (out / "plots").iterdir())


def test_no_separate_runs_says_so_and_a_chosen_baseline_works(tmp_path, capsys):
    for rate, auroc in ((0.0, 0.9), (0.5, 0.81)):
        for seed in range(3):
            write_run(tmp_path / f"r{rate}_{seed}", {"data.missing_rate": rate, "seed": seed}, {"a": {"auroc": auroc}})
    report = build_report([tmp_path])
    assert not report.has_deltas
    assert any("no succeeded run has approach=separate" in n and "--baseline" in n for n in report.notes)
    report = build_report([tmp_path], Options(baseline=BaselineSpec.parse("data.missing_rate=0")))
    row = next(r for r in report.rows if r.group.value("data.missing_rate") == 0.5)
    assert close(row.deltas["auroc"].value, (0.81 - 0.9) / 0.9 * 100)
    assert main([str(tmp_path), "--out", str(tmp_path / "o"), "--no-plots"]) == 0
    assert "Δm is not computed" in capsys.readouterr().out


def test_baseline_without_the_key_matches_every_value_of_it(tmp_path):
    """Transfer runs sweep finetune; the separate runs have no finetune group, so they are the baseline of each."""
    for seed in range(2):
        write_run(tmp_path / f"sep{seed}", {"approach": "separate", "seed": seed}, {"a": {"auroc": 0.5}})
        for ft, auroc in (("head_only", 0.6), ("full", 0.7)):
            write_run(
                tmp_path / f"{ft}{seed}",
                {"approach": "transfer", "finetune": ft, "seed": seed},
                {"a": {"auroc": auroc}},
            )
    report = build_report([tmp_path])
    assert report.keys == ["approach", "finetune"]
    transfer = [r for r in report.rows if r.group.value("approach") == "transfer"]
    deltas = {r.group.value("finetune"): r.deltas["auroc"] for r in transfer}
    assert close(deltas["head_only"].value, 20.0) and close(deltas["full"].value, 40.0)


def test_no_matching_baseline_is_explained(tmp_path):
    for seed in range(2):
        for name, approach, width, auroc in (("s", "separate", 8, 0.5), ("m", "multitask", 32, 0.6)):
            overrides = {"approach": approach, "model.width": width, "seed": seed}
            write_run(tmp_path / f"{name}{seed}", overrides, {"a": {"auroc": auroc}})
    report = build_report([tmp_path])
    mt = next(r for r in report.rows if r.group.value("approach") == "multitask")
    assert mt.baseline is None and "model.width" in mt.why_no_baseline
    assert all(d is None for d in mt.deltas.values())
    ignored = build_report([tmp_path], Options(baseline=BaselineSpec.parse("approach=separate", ["model.width"])))
    mt = next(r for r in ignored.rows if r.group.value("approach") == "multitask")
    assert close(mt.deltas["auroc"].value, 20.0)


def test_undefined_metrics_are_left_out_of_mean_and_n(tmp_path):
    values = [0.6, None, 0.8]
    for seed, v in enumerate(values):
        write_run(tmp_path / f"r{seed}", {"seed": seed}, {"a": {"auroc": v}, "b": {"auroc": 0.5}})
    report = build_report([tmp_path])
    stat = report.groups[0].stat("test", "auroc", "a")
    assert stat.n == 2 and close(stat.mean, 0.7) and close(stat.std, statistics.stdev([0.6, 0.8]))
    macro = report.groups[0].stat("test", "auroc")  # run 1's macro is b alone: 0.5
    assert close(macro.mean, statistics.fmean([0.55, 0.5, 0.65]))


def test_values_from_overrides_and_from_the_config_are_one_value(tmp_path):
    """A run launched with data.missing_rate=0 and one whose config says 0.0 without an override share a group."""
    write_run(tmp_path / "r0", {"data.missing_rate": 0, "seed": 0}, {"a": {"auroc": 0.5}})
    write_run(tmp_path / "r1", {"seed": 1}, {"a": {"auroc": 0.7}}, config={"data.missing_rate": 0.0})
    write_run(tmp_path / "r2", {"data.missing_rate": "0.5", "seed": 0}, {"a": {"auroc": 0.6}})
    report = build_report([tmp_path])
    assert report.keys == ["data.missing_rate"]
    assert [len(g.runs) for g in report.groups] == [2, 1]
    assert canonical("0") == canonical(0) == canonical(0.0) and canonical("ignore") == "ignore"


def test_bad_input_gets_a_clear_error(tmp_path, capsys):
    with pytest.raises(DataError, match="no runs under"):
        build_report([tmp_path])
    with pytest.raises(DataError, match="is not a folder"):
        find_runs([tmp_path / "nope"])
    write_run(tmp_path / "r", {"seed": 0}, {"a": {"auroc": 0.5}})
    with pytest.raises(ConfigError, match="split 'val'.*--split"):
        build_report([tmp_path], Options(split="val"))
    with pytest.raises(ConfigError, match="--tasks names unknown task"):
        build_report([tmp_path], Options(tasks=("zebra",)))
    assert main([str(tmp_path / "empty_does_not_exist")]) == 2
    assert main([str(tmp_path), "--baseline", "noequals"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().out


# ---------------------------------------------------------------- properties

unit = st.floats(min_value=0.05, max_value=1.0, allow_nan=False)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(groups=st.lists(st.lists(unit, min_size=1, max_size=5), min_size=1, max_size=3))
def test_mean_and_std_over_seeds_are_right(groups):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for g, values in enumerate(groups):
            for seed, v in enumerate(values):
                write_run(root / f"g{g}s{seed}", {"model.width": g, "seed": seed}, {"a": {"auroc": v, "f1": 1 - v}})
        report = build_report([root])
        assert len(report.groups) == len(groups)
        for group in report.groups:
            values = groups[int(group.value("model.width")) if report.keys else 0]
            for metric, vals in (("auroc", values), ("f1", [1 - v for v in values])):
                stat = group.stat("test", metric)
                assert stat.n == len(vals)
                assert close(stat.mean, statistics.fmean(vals))
                if len(vals) > 1:
                    assert close(stat.std, statistics.stdev(vals))
                else:
                    assert math.isnan(stat.std)


@settings(max_examples=20, deadline=None)
@given(values=st.lists(st.tuples(unit, unit), min_size=1, max_size=4))
def test_delta_m_of_a_configuration_against_itself_is_zero(values):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for seed, (a, b) in enumerate(values):
            overrides = {"approach": "multitask", "seed": seed}
            write_run(root / f"s{seed}", overrides, {"a": {"auroc": a}, "b": {"auroc": b}})
        report = build_report([root], Options(baseline=BaselineSpec.parse("approach=multitask")))
        (row,) = report.rows
        assert row.baseline is row.group
        assert abs(row.deltas["auroc"].value) < 1e-9


@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_the_tables_do_not_depend_on_the_order_of_the_runs(data):
    runs = [
        (approach, width, seed, data.draw(unit), data.draw(unit))
        for approach in ("multitask", "separate")
        for width in (8, 16)
        for seed in range(2)
    ]
    order = data.draw(st.permutations(range(len(runs))))
    records = []
    for names in (range(len(runs)), order):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            for name, (approach, width, seed, a, b) in zip(names, runs):
                write_run(
                    root / f"run{name:02d}",
                    {"approach": approach, "model.width": width, "seed": seed},
                    {"a": {"auroc": a}, "b": {"auroc": b}},
                )
            from mtlkit.report.tables import per_task_records, summary_records

            report = build_report([root])
            summary = [{k: v for k, v in r.items() if k != "seeds"} for r in summary_records(report)]
            records.append((summary, per_task_records(report)))
    (s1, p1), (s2, p2) = records
    assert p1 == p2
    for r1, r2 in zip(s1, s2):
        assert r1.keys() == r2.keys()
        for k in r1:
            if isinstance(r1[k], float):
                assert close(r1[k], r2[k])
            else:
                assert r1[k] == r2[k]


# ---------------------------------------------------------------- end to end


def test_tasks_restricts_the_macro_columns_to_those_tasks(tmp_path):
    """--tasks a: the summary's macro columns, runs.csv and Δm are about task a alone, and say so."""
    sweep = _approach_sweep(tmp_path / "sweep")
    report = build_report([sweep], Options(tasks=("a",)))
    by_approach = {r.group.value("approach"): r for r in report.rows}
    assert close(by_approach["multitask"].group.stat("test", "auroc").mean, 0.88)
    assert close(by_approach["separate"].group.stat("test", "auroc").mean, 0.80)
    assert close(by_approach["multitask"].deltas["auroc"].value, 10.0)
    out = tmp_path / "out"
    assert main([str(sweep), "--out", str(out), "--no-plots", "--tasks", "a"]) == 0
    assert "## Summary (macro mean over the 1 task chosen with --tasks)" in (out / "report.md").read_text()
    runs = read_csv_rows(out / "runs.csv")
    assert close(float(only_row(runs, approach="multitask", seed="0")["auroc_macro"]), 0.88)
    # Without --tasks the macro is the runs' own (over a and b).
    plain = {r.group.value("approach"): r for r in build_report([sweep]).rows}
    assert close(plain["multitask"].group.stat("test", "auroc").mean, (0.88 + 0.55) / 2)


def test_where_keeps_the_chosen_runs_and_the_baseline_without_that_key(tmp_path, capsys):
    for seed in range(2):
        write_run(tmp_path / f"sep{seed}", {"approach": "separate", "seed": seed}, {"a": {"auroc": 0.5}})
        for ft, auroc in (("head_only", 0.6), ("full", 0.7)):
            overrides = {"approach": "transfer", "finetune": ft, "seed": seed}
            write_run(tmp_path / f"{ft}{seed}", overrides, {"a": {"auroc": auroc}})
    report = build_report([tmp_path], Options(where=("finetune=full",)))
    assert [g.label for g in report.groups] == ["approach=separate, finetune=-", "approach=transfer, finetune=full"]
    transfer = report.rows[1]
    assert close(transfer.deltas["auroc"].value, 40.0)
    with pytest.raises(DataError, match="--where"):
        build_report([tmp_path], Options(where=("approach=multitask",)))
    assert main([str(tmp_path), "--out", str(tmp_path / "o"), "--no-plots", "--where", "finetune=full"]) == 0
    assert "only runs with finetune=full" in capsys.readouterr().out


def test_seed_keys_make_more_keys_replicates(tmp_path):
    for i, (seed, data_seed, auroc) in enumerate(((0, 0, 0.6), (1, 1, 0.8))):
        write_run(tmp_path / f"r{i}", {"seed": seed, "data.seed": data_seed}, {"a": {"auroc": auroc}})
    assert build_report([tmp_path]).keys == ["data.seed"]
    report = build_report([tmp_path], Options(seed_keys=("seed", "data.seed")))
    assert report.keys == [] and len(report.groups) == 1
    assert close(report.groups[0].stat("test", "auroc").mean, 0.7)
