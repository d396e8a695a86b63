"""mtlkit-report's task-gradient plots: the mean cosine heatmap and the task weights of every configuration that
recorded them, averaged over seeds; from hand-made results.json files and from a tiny real run."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from mtlkit.cli.report import main
from mtlkit.report import Options, build_report
from mtlkit.report.task_plots import cosine_matrix, weight_history
from tests.helpers.reports import is_png, write_run

TASKS = ["a", "b", "c"]
# Two seeds of multitask; seed 1 never saw task b next to c (None), so that entry is seed 0's alone.
COSINES = {
    0: [[1.0, -0.4, 0.2], [-0.4, 1.0, 0.1], [0.2, 0.1, 1.0]],
    1: [[1.0, -0.2, 0.4], [-0.2, 1.0, None], [0.4, None, 1.0]],
}
NORMS = {0: [0.5, 2.0, 1.0], 1: [0.7, 4.0, None]}
WEIGHTS = {0: [[1.0, 1.0, 1.0], [0.8, 1.4, 0.8]], 1: [[1.0, 1.0, 1.0], [1.0, 1.2, 0.8]]}


def _add(run_dir: Path, **entries: Any) -> None:
    """Add entries (task_gradients, task_weights) to the run's results.json."""
    path = run_dir / "results.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **entries}))


def _sweep(root: Path, weight_steps: dict[int, list[int]] | None = None) -> Path:
    """approach=separate|multitask x seed 0-1; multitask recorded the matrices above, separate weights only."""
    for approach in ("separate", "multitask"):
        for seed in (0, 1):
            run = write_run(
                root / f"{approach}_s{seed}",
                {"approach": approach, "seed": seed},
                {t: {"auroc": 0.7} for t in TASKS},
            )
            steps = (weight_steps or {}).get(seed, [0, 10])
            _add(run, task_weights={"tasks": TASKS, "steps": steps, "weights": WEIGHTS[seed]})
            if approach == "multitask":
                gradients = {"tasks": TASKS, "norm_mean": NORMS[seed], "cosine_mean": COSINES[seed], "measurements": 5}
                _add(run, task_gradients=gradients)
    return root


def test_a_configuration_is_the_mean_over_its_seeds(tmp_path):
    report = build_report([_sweep(tmp_path)])
    groups = {g.value("approach"): g for g in report.groups}
    matrix = cosine_matrix(groups["multitask"])
    assert matrix.tasks == TASKS and matrix.runs == 2 and matrix.measurements == 10
    expected = [[1.0, -0.3, 0.3], [-0.3, 1.0, 0.1], [0.3, 0.1, 1.0]]  # b~c: seed 0's alone, not (0.1 + 0) / 2
    np.testing.assert_allclose(matrix.cosine, expected)
    np.testing.assert_allclose(matrix.norm, [0.6, 3.0, 1.0])
    assert cosine_matrix(groups["separate"]) is None  # no shared parameters, no matrix
    history = weight_history(groups["separate"])
    assert history.averaged and history.steps == [[0, 10]]
    np.testing.assert_allclose(history.weights[0], [[1.0, 1.0, 1.0], [0.9, 1.3, 0.8]])
    only = build_report([tmp_path], Options(tasks=("c", "a")))  # --tasks: those tasks, in that order
    chosen = cosine_matrix(next(g for g in only.groups if g.value("approach") == "multitask"), only.tasks)
    assert chosen.tasks == ["c", "a"]
    np.testing.assert_allclose(chosen.cosine, [[1.0, 0.3], [0.3, 1.0]])


def test_seeds_measured_at_other_steps_are_drawn_one_by_one(tmp_path):
    report = build_report([_sweep(tmp_path, weight_steps={0: [0, 10], 1: [0, 12]})])
    history = weight_history(next(g for g in report.groups if g.value("approach") == "multitask"))
    assert not history.averaged and history.steps == [[0, 10], [0, 12]]


def test_the_cli_draws_a_heatmap_and_a_weight_plot_per_configuration(tmp_path):
    import matplotlib.image

    sweep = _sweep(tmp_path / "sweep")
    out = tmp_path / "out"
    assert main([str(sweep), "--out", str(out)]) == 0
    plots = out / "plots"
    names = {"task_cosines_approach_multitask.png", "task_weights_approach_multitask.png"}
    names.add("task_weights_approach_separate.png")
    assert names <= {p.name for p in plots.iterdir()}
    assert "task_cosines_approach_separate.png" not in {p.name for p in plots.iterdir()}
    for name in names:
        assert is_png(plots / name) and matplotlib.image.imread(plots / name).shape[0] > 100
    md = (out / "report.md").read_text()
    assert "## Task gradients and weights" in md and "docs/task_gradients.md" in md
    assert "![task_cosines_approach_multitask](plots/task_cosines_approach_multitask.png)" in md

    assert main([str(sweep), "--out", str(tmp_path / "bare"), "--no-plots"]) == 0
    assert not (tmp_path / "bare" / "plots").exists()
    assert "Task gradients" not in (tmp_path / "bare" / "report.md").read_text()


def test_many_tasks_and_broken_entries_still_give_a_report(tmp_path):
    """20 tasks (no values in the cells), a run whose matrix has the wrong shape (skipped), NaN-free input."""
    tasks = [f"t{j}" for j in range(20)]
    gen = np.random.default_rng(0)
    cos = np.clip(gen.normal(0, 0.3, (20, 20)), -1, 1)
    cos = ((cos + cos.T) / 2).tolist()
    for seed in (0, 1):
        run = write_run(tmp_path / f"s{seed}", {"seed": seed}, {t: {"auroc": 0.6} for t in tasks})
        block = {
            "tasks": tasks,
            "norm_mean": [1.0] * 20,
            "cosine_mean": cos if seed == 0 else [[1.0]],
            "measurements": 3,
        }
        _add(run, task_gradients=block, task_weights={"tasks": tasks, "steps": [0], "weights": [[1.0] * 20]})
    out = tmp_path / "out"
    assert main([str(tmp_path), "--out", str(out)]) == 0
    assert is_png(out / "plots" / "task_cosines_all_runs.png") and is_png(out / "plots" / "task_weights_all_runs.png")
    matrix = cosine_matrix(build_report([tmp_path]).groups[0])
    assert matrix.runs == 1 and not math.isnan(matrix.cosine[0, 1])


def test_a_tiny_real_run_records_the_matrices_and_the_report_draws_them(tmp_path):
    from mtlkit.run import train
    from tests.conftest import TINY
    from tests.helpers import compose_config

    run_dir = tmp_path / "run"
    res = train(compose_config([*TINY, "weighting.log_every=1"], run_dir))
    on_disk = json.loads((run_dir / "results.json").read_text())
    tasks = on_disk["tasks"]
    gradients, weights = on_disk["task_gradients"], on_disk["task_weights"]
    assert gradients["tasks"] == tasks and gradients["measurements"] == res["global_steps"] == 4
    cos = np.array(gradients["cosine_mean"], dtype=float)
    assert cos.shape == (len(tasks), len(tasks)) and np.allclose(cos, cos.T) and np.allclose(np.diag(cos), 1.0)
    assert np.all(np.abs(cos) <= 1.0) and all(n > 0 for n in gradients["norm_mean"])
    assert weights["steps"] == [0, 1, 2, 3] and weights["weights"] == [[1.0] * len(tasks)] * 4  # equal weighting

    out = tmp_path / "report"
    assert main([str(run_dir), "--out", str(out)]) == 0
    assert is_png(out / "plots" / "task_cosines_all_runs.png") and is_png(out / "plots" / "task_weights_all_runs.png")
    assert "task_cosines_all_runs.png" in (out / "report.md").read_text()
