"""mtlkit-report with example-based metrics: Δm's sign flipped for lower-is-better ones, --metric lrap/hamming in
tables, CSVs and plots, runs written before the metrics existed, and --tasks refused for them."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from mtlkit.cli.report import main
from mtlkit.errors import ConfigError
from mtlkit.evaluation.example_metrics import EXAMPLE_METRICS, LOWER_IS_BETTER
from mtlkit.report import Options, build_report
from mtlkit.report.delta import relative_gain
from tests.helpers import only_row, read_csv_rows
from tests.helpers.reports import close, is_png, write_run

# Per seed: (hamming, lrap). Baseline means: hamming 0.20, lrap 0.50; multitask: hamming 0.15, lrap 0.60.
SEPARATE = {0: (0.22, 0.48), 1: (0.20, 0.50), 2: (0.18, 0.52)}
MULTITASK = {0: (0.14, 0.62), 1: (0.15, 0.60), 2: (0.16, 0.58)}


def _with_example_metrics(run_dir: Path, values: dict[str, float], left_out: int = 3) -> None:
    """Add the example-based block mtlkit-train writes to a hand-made run's results.json."""
    path = run_dir / "results.json"
    results = json.loads(path.read_text())
    block = {m: values.get(m, 0.5) for m in EXAMPLE_METRICS}
    block.update(n_examples=100, left_out_examples=dict.fromkeys(("hamming", "lrap"), left_out), left_out_tasks={})
    results["metrics"]["test"]["example_based"] = block
    path.write_text(json.dumps(results))


def _sweep(root: Path) -> Path:
    for approach, table in (("separate", SEPARATE), ("multitask", MULTITASK)):
        for seed, (hamming, lrap) in table.items():
            run = write_run(root / f"{approach}{seed}", {"approach": approach, "seed": seed}, {"a": {"auroc": 0.7}})
            _with_example_metrics(run, {"hamming": hamming, "lrap": lrap, "coverage": 2.0 + seed})
    return root


def test_delta_m_flips_the_sign_of_lower_is_better_metrics(tmp_path):
    report = build_report([_sweep(tmp_path)], Options(metric="hamming"))
    mt = next(r for r in report.rows if r.group.value("approach") == "multitask")
    # hamming 0.20 -> 0.15: 25 % lower, which is better: Δm = +25; lrap 0.50 -> 0.60: Δm = +20
    assert close(mt.deltas["hamming"].value, 25.0) and close(mt.deltas["lrap"].value, 20.0)
    per_seed = [-(h - 0.20) / 0.20 * 100 for h, _ in MULTITASK.values()]
    assert close(mt.deltas["hamming"].std, statistics.stdev(per_seed)) and mt.deltas["hamming"].n == 3
    assert mt.deltas["coverage"].value == pytest.approx(0.0)  # same coverage on both sides
    assert mt.deltas["hamming"].tasks == ["(all tasks)"]
    assert {"hamming", "ranking_loss", "one_error", "coverage"} == set(LOWER_IS_BETTER)
    assert relative_gain(0.1, 0.2, "hamming") == pytest.approx(50.0) and relative_gain(0.1, 0.2, "f1") == -50.0


@pytest.mark.parametrize("metric", ["lrap", "hamming"])
def test_cli_metric_example_based_writes_tables_csvs_and_plots(tmp_path, capsys, metric):
    out = tmp_path / "out"
    assert main([str(_sweep(tmp_path / "sweep")), "--out", str(out), "--metric", metric]) == 0
    printed = capsys.readouterr().out
    assert "Example-based metrics" in printed and "hamming ↓" in printed and "lrap ↑" in printed
    summary = only_row(read_csv_rows(out / "summary.csv"), approach="multitask")
    assert close(float(summary["hamming_mean"]), 0.15) and close(float(summary["lrap_mean"]), 0.60)
    assert close(float(summary["delta_m_hamming_pct"]), 25.0) and close(float(summary["delta_m_lrap_pct"]), 20.0)
    runs = read_csv_rows(out / "runs.csv")
    assert sorted(float(r["lrap"]) for r in runs if r["approach"] == "multitask") == [0.58, 0.60, 0.62]
    md = (out / "report.md").read_text()
    expected = {"lrap": "+20.00", "hamming": "+25.00"}[metric]
    assert "## Example-based metrics" in md and f"Δm {metric} (%)" in md and expected in md
    assert "| approach=multitask | 0.150 ± 0.010 | 0.600 ± 0.020 |" in md  # hamming, lrap columns first
    assert is_png(out / "plots" / f"{metric}_by_configuration.png")
    assert is_png(out / "plots" / f"delta_m_{metric}_by_configuration.png")


def test_runs_without_example_metrics_show_none_and_the_headline_is_not_available(tmp_path, capsys):
    for seed in range(2):
        write_run(tmp_path / f"r{seed}", {"approach": "separate", "seed": seed}, {"a": {"auroc": 0.7}})
    report = build_report([tmp_path], Options(metric="lrap"))
    assert not report.has_example_metrics
    assert main([str(tmp_path), "--out", str(tmp_path / "out"), "--metric", "lrap", "--no-plots"]) == 0
    assert "no run has example-based metrics" in capsys.readouterr().out
    summary = read_csv_rows(tmp_path / "out" / "summary.csv")[0]
    assert "hamming_mean" not in summary and "lrap_mean" not in summary and summary["auroc_mean"] == "0.7"
    assert "Example-based metrics" not in (tmp_path / "out" / "report.md").read_text()


def test_example_based_metrics_cannot_be_restricted_to_some_tasks(tmp_path, capsys):
    sweep = _sweep(tmp_path / "sweep")
    with pytest.raises(ConfigError, match="--tasks"):
        Options(metric="hamming", tasks=("a",))
    assert main([str(sweep), "--metric", "lrap", "--tasks", "a", "--no-plots"]) == 2
    assert "example-based" in capsys.readouterr().out
    report = build_report([sweep], Options(tasks=("a",)))  # a per-task metric with --tasks: example ones dropped
    assert not report.has_example_metrics and any("--tasks leaves them out" in n for n in report.notes)
