"""mtlkit-advise end to end on the shipped example table: every job, the verdict, the report; a second call
reuses every run; a call with other settings into the same folder is refused and changes nothing."""

from __future__ import annotations

import json

import pytest

from tests.conftest import REPO
from tests.helpers import run_cli

pytestmark = pytest.mark.slow

TABLE = [f"data.path={REPO}/examples/table/patients.csv", "data=table", "data.label_columns=[a,b,c]", "model=mlp"]
ARGS = ["--seeds", "2", "--epochs", "1", "--balancing", "none", *TABLE, "callbacks.rich_progress_bar=null"]


def test_advise_runs_every_arm_writes_the_verdict_and_reuses_its_runs(tmp_path):
    out = tmp_path / "advise"
    proc = run_cli([*ARGS, "--out", str(out)], tmp_path, module="mtlkit.cli.advise", timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "[7/7]" in proc.stdout and "verdict:" in proc.stdout
    verdict = json.loads((out / "verdict.json").read_text())
    assert [a["name"] for a in verdict["arms"]] == ["shared", "grouped"]
    assert verdict["recommended"] in ("separate", "shared", "grouped") and verdict["problems"] == []
    assert verdict["grouping"]["k"] == 2 and len(verdict["grouping"]["groups"]) == 2
    assert all(a["delta"]["n"] == 2 for a in verdict["arms"])
    assert (out / "verdict.md").is_file() and (out / "report" / "report.md").is_file()
    assert (out / "affinity" / "affinity.csv").is_file()

    again = run_cli([*ARGS, "--out", str(out)], tmp_path, module="mtlkit.cli.advise", timeout=600)
    assert again.returncode == 0, again.stdout[-3000:]
    assert again.stdout.count(": reused") == 7
    assert json.loads((out / "verdict.json").read_text())["recommendation"] == verdict["recommendation"]

    # a smallest effect re-judges the same runs (it is not part of the plan): nothing retrains
    floored = run_cli([*ARGS, "--out", str(out), "--min-effect", "1000"], tmp_path, module="mtlkit.cli.advise")
    assert floored.returncode == 0 and floored.stdout.count(": reused") == 7, floored.stdout[-3000:]
    record = json.loads((out / "verdict.json").read_text())
    assert record["min_effect"] == 1000 and {a["verdict"] for a in record["arms"]} == {"no meaningful difference"}

    plan = (out / "advise.json").read_bytes()
    other = run_cli([*ARGS, "--out", str(out), "model.width=16"], tmp_path, module="mtlkit.cli.advise")
    assert other.returncode == 2 and "holds an mtlkit-advise run with other settings" in other.stdout
    assert (out / "advise.json").read_bytes() == plan


def test_a_typo_in_an_override_fails_before_any_job(tmp_path):
    proc = run_cli([*ARGS, "--out", str(tmp_path / "a"), "model.widht=3"], tmp_path, module="mtlkit.cli.advise")
    assert proc.returncode == 2 and "do not compose" in proc.stdout
    assert not (tmp_path / "a").exists()


def test_a_negative_smallest_effect_fails_before_any_job(tmp_path):
    proc = run_cli([*ARGS, "--out", str(tmp_path / "a"), "--min-effect", "-1"], tmp_path, module="mtlkit.cli.advise")
    assert proc.returncode == 2 and "--min-effect -1.0: give a percentage >= 0" in proc.stdout
    assert not (tmp_path / "a").exists()


def test_groupings_from_a_recorded_affinity_print_the_override_as_typed(tmp_path):
    csv = REPO / "experiments" / "results" / "advise" / "road" / "affinity.csv"
    proc = run_cli(["--groupings-from", str(csv), "--k", "3"], tmp_path, module="mtlkit.cli.advise")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    text = proc.stdout.replace("\n", "")
    assert "<- best" in text and "train it: mtlkit-train approach=grouped 'approach.groups=[[" in text
