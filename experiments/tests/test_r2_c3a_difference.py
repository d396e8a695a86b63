"""experiments/scripts/r2_c3a_difference.py: each shared arm's Δm at relatedness 1 minus at 0 is paired by seed (only
seeds both calls have), arms missing at one relatedness are left out, and only sizes with both verdicts are read."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest

from experiments.tests.conftest import SCRIPTS

spec = importlib.util.spec_from_file_location("r2_c3a_difference", SCRIPTS / "r2_c3a_difference.py")
c3a = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = c3a  # dataclasses look their module up
spec.loader.exec_module(c3a)


def _verdict(arms):
    return {"arms": [{"name": n, "delta": {"mean": sum(d.values()) / len(d)}, "delta_by_seed": d} for n, d in arms]}


def _write(root, name, arms):
    (root / name).mkdir(parents=True)
    (root / name / "verdict.json").write_text(json.dumps(_verdict(arms)))


def test_pairs_by_seed_and_reads_only_complete_sizes(tmp_path):
    _write(tmp_path, "n1000_r0", [("shared", {"0": -1.0, "1": -2.0, "2": -1.5}), ("grouped_x2", {"0": 0.0, "1": 0.0})])
    _write(tmp_path, "n1000_r1", [("shared", {"0": 1.0, "1": 0.5, "2": 0.6, "3": 9.0}), ("shared_x8", {"0": 1.0})])
    _write(tmp_path, "n10000_r0", [("shared", {"0": 0.0})])  # no r1: not read
    assert c3a.sizes(tmp_path) == [1000]
    rows = c3a.load(tmp_path, 1000)
    assert [r.arm for r in rows] == ["shared"]  # shared_x8 has no r0, grouped_x2 no r1
    d = rows[0].difference
    assert d.n == 3  # seed 3 exists at r1 only
    assert d.mean == pytest.approx((2.0 + 2.5 + 2.1) / 3)
    assert d.low > 0.5 and d.verdict_at(0.5) == "better"
    text = c3a.table(rows)
    assert "| 1,000 | shared |" in text and "| better | 3 |" in text
    png = c3a.plot(rows, tmp_path / "plots" / "difference.png")
    assert png.is_file() and png.stat().st_size > 1000
