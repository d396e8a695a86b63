"""mtlkit-advise's verdict on hand-made results.json files: win, loss, tie, the cheapest tie, missing and failed
runs named; and the paired t interval against scipy."""

from __future__ import annotations

import json
import math
import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtlkit.advise.verdict import build_verdict
from mtlkit.advise.write import write_verdict
from mtlkit.report.paired import paired, t_quantile

TASKS = ["a", "b"]


def _run(path, values: dict[str, float], params: int = 100, fit_s: float = 1.0, status: str = "completed"):
    path.mkdir(parents=True)
    per_task = {t: {"auroc": v} for t, v in values.items()}
    macro = {"auroc": sum(values.values()) / len(values)}
    results = {
        "status": status,
        "tasks": list(values),
        "metrics": {"test": {"per_task": per_task, "macro": macro}},
        "parameters": {"total": params},
        "timings": {"fit_s": fit_s},
    }
    if status == "failed":
        results["error"] = {"type": "RuntimeError", "message": "boom"}
    (path / "results.json").write_text(json.dumps(results))
    return path


def _arms(tmp_path, arms: dict[str, list[dict[str, float]]], params: dict[str, int]):
    out = []
    for name, seeds in arms.items():
        dirs = {s: _run(tmp_path / name / str(s), v, params[name]) for s, v in enumerate(seeds)}
        out.append((name, f"the {name} arm", dirs))
    return out


BASE = [{"a": 0.80, "b": 0.70}, {"a": 0.82, "b": 0.69}, {"a": 0.78, "b": 0.72}]


def _shift(seeds, d):
    return [{t: v + d[t] for t, v in s.items()} for s in seeds]


def test_a_clear_win_is_recommended(tmp_path):
    arms = _arms(
        tmp_path,
        {
            "separate": BASE,
            "shared": _shift(BASE, {"a": 0.05, "b": 0.04}),
            "grouped": _shift(BASE, {"a": 0.0, "b": 0.01}),
        },
        {"separate": 200, "shared": 100, "grouped": 150},
    )
    v = build_verdict(arms)
    shared = next(a for a in v.arms if a.name == "shared")
    assert shared.delta.verdict == "better" and v.recommended == "shared"
    assert shared.delta.mean == pytest.approx((0.05 / 0.8 + 0.04 / 0.7) / 2 * 100, rel=0.05)
    assert "better than separate networks" in v.recommendation and "50 % of the parameters" in v.recommendation
    # verdict.json keeps each seed's Δm, so two advise runs can be compared seed by seed (round 2's C3a)
    assert len(shared.delta_by_seed) == shared.delta.n
    assert statistics.fmean(shared.delta_by_seed.values()) == pytest.approx(shared.delta.mean)


def test_a_loss_everywhere_means_separate(tmp_path):
    arms = _arms(
        tmp_path,
        {"separate": BASE, "shared": _shift(BASE, {"a": -0.05, "b": -0.06})},
        {"separate": 200, "shared": 100},
    )
    v = build_verdict(arms)
    assert v.arms[0].delta.verdict == "worse" and v.recommended == "separate"
    assert v.recommendation.startswith("separate networks: every shared option is worse")


def test_a_tie_is_called_a_tie_and_the_cheapest_tie_is_recommended(tmp_path):
    noisy = [{"a": 0.81, "b": 0.69}, {"a": 0.80, "b": 0.70}, {"a": 0.79, "b": 0.73}]
    arms = _arms(
        tmp_path,
        {"separate": BASE, "grouped": noisy, "shared": noisy},
        {"separate": 200, "grouped": 150, "shared": 100},
    )
    v = build_verdict(arms)
    assert {a.delta.verdict for a in v.arms} == {"tie"}
    assert v.recommended == "shared" and "a tie with separate networks" in v.recommendation


def test_the_worst_task_is_named(tmp_path):
    arms = _arms(
        tmp_path, {"separate": BASE, "shared": _shift(BASE, {"a": 0.05, "b": -0.07})}, {"separate": 2, "shared": 1}
    )
    worst = build_verdict(arms).arms[0].worst_task
    assert worst[0] == "b" and worst[1] == pytest.approx(-0.07 / 0.703 * 100, rel=0.02)


def test_missing_and_failed_runs_are_named_never_dropped(tmp_path):
    arms = _arms(
        tmp_path, {"separate": BASE, "shared": _shift(BASE, {"a": 0.05, "b": 0.04})}, {"separate": 2, "shared": 1}
    )
    name, desc, dirs = arms[1]
    dirs = dict(dirs)
    dirs[3] = tmp_path / "shared" / "never-ran"
    (tmp_path / "shared" / "1" / "results.json").write_text(json.dumps({"status": "failed", "error": {"message": "x"}}))
    v = build_verdict([arms[0], (name, desc, dirs)])
    assert v.arms[0].delta.n == 2 and v.arms[0].seeds == [0, 2]
    assert any("shared seed 3: missing" in p for p in v.problems)
    assert any("shared seed 1: failed" in p for p in v.problems)
    paths = write_verdict(v, tmp_path, {})
    assert "shared seed 3: missing" in paths[0].read_text()
    assert json.loads(paths[1].read_text())["problems"] == v.problems


def test_a_win_below_the_smallest_effect_is_no_meaningful_difference(tmp_path):
    # +0.2 % on every seed: the interval excludes 0, so "better" by the interval alone, but under a 0.5 % floor
    small = _shift(BASE, {"a": 0.0016, "b": 0.0014})
    arms = _arms(tmp_path, {"separate": BASE, "shared": small}, {"separate": 2, "shared": 1})
    plain = build_verdict(arms)
    assert plain.arms[0].delta.verdict == "better" and plain.recommended == "shared"
    assert 0 < plain.arms[0].delta.mean < 0.5 and "better than separate networks" in plain.recommendation
    floored = build_verdict(arms, min_effect=0.5)
    assert floored.verdict_of(floored.arms[0].delta) == "no meaningful difference"
    assert floored.recommended == "shared" and "no meaningful difference (under 0.5 %) from" in floored.recommendation
    out = tmp_path / "out"
    out.mkdir()
    paths = write_verdict(floored, out, {})
    record = json.loads(paths[1].read_text())
    assert record["min_effect"] == 0.5 and record["arms"][0]["verdict"] == "no meaningful difference"
    assert "| no meaningful difference |" in paths[0].read_text()
    # a clear loss stays a loss under the floor
    loss = _arms(
        tmp_path / "loss",
        {"separate": BASE, "shared": _shift(BASE, {"a": -0.05, "b": -0.06})},
        {"separate": 2, "shared": 1},
    )
    assert build_verdict(loss, min_effect=0.5).recommended == "separate"


def test_one_seed_is_undecided(tmp_path):
    arms = _arms(
        tmp_path, {"separate": BASE[:1], "shared": _shift(BASE[:1], {"a": 0.1, "b": 0.1})}, {"separate": 2, "shared": 1}
    )
    v = build_verdict(arms)
    assert v.arms[0].delta.verdict == "undecided" and v.recommended == "separate" and "undecided" in v.recommendation


@settings(max_examples=30, deadline=None)
@given(st.floats(0.55, 0.999), st.integers(1, 60))
def test_t_quantile_matches_scipy(p, df):
    stats = pytest.importorskip("scipy.stats")
    assert t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), rel=1e-6, abs=1e-9)


def test_paired_interval():
    p = paired([1.0, 2.0, 3.0])
    assert p.mean == 2.0 and p.n == 3
    assert p.high - 2.0 == pytest.approx(4.302652729 * 1.0 / math.sqrt(3), rel=1e-6)
    assert paired([1.0]).verdict == "undecided" and paired([]).n == 0


def test_a_tie_between_equally_large_arms_goes_to_the_simpler_one(tmp_path):
    noisy = [{"a": 0.81, "b": 0.69}, {"a": 0.80, "b": 0.70}, {"a": 0.79, "b": 0.73}]
    arms = _arms(
        tmp_path,
        {"separate": BASE, "shared": noisy, "shared_famo": noisy},
        {"separate": 2, "shared": 1, "shared_famo": 1},
    )
    fast = arms[2][2][0] / "results.json"
    record = json.loads(fast.read_text())
    record["timings"]["fit_s"] = 0.01  # the balanced arm happens to be faster: noise, not a reason
    fast.write_text(json.dumps(record))
    assert build_verdict(arms).recommended == "shared"


def test_budget_arms_equal_steps_and_equal_compute():
    from mtlkit.advise.plan import base_arms, budget_arms, grouped_arm

    arms = base_arms("famo", ["data@source=driving_source"], tasks=8)
    arms.insert(2, grouped_arm([["a", "b", "c", "d"], ["e", "f"], ["g"], ["h"]]))
    steps = {a.name: a.overrides[-1] for a in budget_arms(arms, 8, 3, "steps")}
    assert set(steps.values()) == {"trainer.max_epochs=3"}
    compute = {a.name: a.overrides[-1] for a in budget_arms(arms, 8, 3, "compute")}
    assert compute == {
        "separate": "trainer.max_epochs=3",
        "shared_x8": "trainer.max_epochs=24",
        "grouped_x2": "trainer.max_epochs=6",
        "shared_famo_x8": "trainer.max_epochs=24",
        "transfer": "trainer.max_epochs=3",
    }
    both = [a.name for a in budget_arms(arms, 8, 3, "both")]
    assert both == [
        "separate",
        "shared",
        "grouped",
        "shared_famo",
        "transfer",
        "shared_x8",
        "grouped_x2",
        "shared_famo_x8",
    ]


def test_several_balancing_methods_get_one_arm_each():
    from mtlkit.advise.plan import balancing_methods, base_arms

    assert balancing_methods("famo, task_mean") == ["famo", "task_mean"]
    assert balancing_methods("none") == balancing_methods(None) == []
    arms = base_arms("famo,task_mean", [], tasks=4)
    assert [a.name for a in arms] == ["separate", "shared", "shared_famo", "shared_task_mean"]
    assert arms[3].overrides == ("approach=multitask", "weighting=task_mean")
