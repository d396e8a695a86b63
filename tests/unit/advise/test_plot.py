"""verdict.png: written beside verdict.md and linked from it, drawn again from a verdict.json by
``python -m mtlkit.advise.plot``, and a clear error for a missing or empty verdict."""

from __future__ import annotations

import json

import pytest
from matplotlib import image as mpimg

from mtlkit.advise.plot import main, plot_verdict
from mtlkit.advise.verdict import build_verdict
from mtlkit.advise.write import write_verdict
from tests.unit.advise.test_verdict import BASE, _arms, _shift


def _verdict(tmp_path):
    arms = _arms(
        tmp_path / "runs",
        {"separate": BASE, "shared": _shift(BASE, {"a": 0.05, "b": -0.07}), "grouped": BASE},
        {"separate": 2, "shared": 1, "grouped": 2},
    )
    return build_verdict(arms)


def test_write_verdict_draws_the_picture_and_links_it(tmp_path):
    out = tmp_path / "advise"
    out.mkdir()
    written = write_verdict(_verdict(tmp_path), out, {})
    png = out / "verdict.png"
    assert png in written
    pixels = mpimg.imread(png)
    assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.shape[1] > 500
    md = (out / "verdict.md").read_text()
    assert "](verdict.png)" in md and md.index("verdict.png") < md.index("## Approaches against separate networks")


def test_the_picture_is_drawn_again_from_verdict_json_with_a_floor(tmp_path, capsys):
    out = tmp_path / "advise"
    out.mkdir()
    write_verdict(_verdict(tmp_path), out, {})
    plain = (out / "verdict.png").read_bytes()
    main([str(out / "verdict.json"), "--out", str(tmp_path / "floor.png"), "--floor", "0.5", "--title", "C2"])
    assert capsys.readouterr().out.strip() == str(tmp_path / "floor.png")
    shaded = (tmp_path / "floor.png").read_bytes()
    assert shaded != plain  # the band and the title are drawn


def test_a_verdict_without_any_delta_draws_nothing(tmp_path):
    record = {"metric": "auroc", "split": "test", "tasks": ["a"], "arms": [{"name": "shared", "delta": {"mean": None}}]}
    assert plot_verdict(record, tmp_path / "v.png") is None
    assert not (tmp_path / "v.png").exists()
    (tmp_path / "verdict.json").write_text(json.dumps(record))
    with pytest.raises(SystemExit, match="no approach with a Δm to draw"):
        main([str(tmp_path / "verdict.json")])


@pytest.mark.parametrize(("content", "message"), [(None, "does not exist"), ("{oops", "is not JSON")])
def test_a_missing_or_broken_verdict_is_one_line(tmp_path, content, message):
    path = tmp_path / "verdict.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SystemExit, match=message):
        main([str(path)])
