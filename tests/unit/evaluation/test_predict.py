"""mtlkit-predict: one CSV row per example, a probability in [0, 1] per task, labels where known."""

from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf

from mtlkit.build import build_datamodule, module_from_checkpoint
from mtlkit.cli.predict import main
from mtlkit.evaluation.predictions import data_config
from mtlkit.runtime.checkpoints import load_checkpoint
from tests.helpers import read_csv_rows

TASKS = ["pedestrian", "car", "stop_sign", "traffic_light"]


@pytest.mark.parametrize("approach", ["multitask", "separate"])
def test_predict_writes_the_models_probabilities_and_the_known_labels(tiny_checkpoints, tmp_path, approach):
    out = tmp_path / "pred.csv"
    hidden = ["data.hide_splits=[train,test]", "data.missing_rate=0.5"]
    assert main([str(tiny_checkpoints[approach]), "-o", str(out), *hidden]) == 0
    rows = read_csv_rows(out)
    ckpt, file = load_checkpoint(tiny_checkpoints[approach])
    dm = build_datamodule(data_config(ckpt["mtlkit"]["config"]["data"], hidden))
    test = dm.splits["test"]
    assert len(rows) == len(test) == 128
    assert list(rows[0]) == ["id", *[f"prob_{t}" for t in TASKS], *[f"label_{t}" for t in TASKS]]
    assert [r["id"] for r in rows] == test.ids
    probs = torch.tensor([[float(r[f"prob_{t}"]) for t in TASKS] for r in rows])
    assert ((probs >= 0) & (probs <= 1)).all()
    with torch.no_grad():
        expected = torch.sigmoid(module_from_checkpoint(ckpt, file)(dm.transform(test.x)))
    assert torch.allclose(probs, expected, atol=1e-6)
    for j, t in enumerate(TASKS):
        cells = [r[f"label_{t}"] for r in rows]
        assert cells == [str(int(y)) if m else "" for y, m in zip(test.y[:, j].tolist(), test.mask[:, j].tolist())]
    assert 0.3 < sum(c == "" for r in rows for c in [r[f"label_{t}"] for t in TASKS]) / (128 * 4) < 0.7


def test_predict_rejects_bad_arguments_with_a_clear_message(tiny_checkpoints, tmp_path, capsys):
    assert main([str(tmp_path / "missing.ckpt")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main([str(tiny_checkpoints["multitask"]), "model.width=3"]) == 2
    assert "only takes data overrides" in capsys.readouterr().err
    assert main([str(tiny_checkpoints["multitask"]), "data.widht=3"]) == 2
    assert "widht" in capsys.readouterr().err


def test_saved_data_config_is_used_with_this_machines_cache(tiny_checkpoints, monkeypatch, tmp_path):
    ckpt, _ = load_checkpoint(tiny_checkpoints["multitask"])
    monkeypatch.setenv("MTLKIT_CACHE_DIR", str(tmp_path / "cache"))
    cfg = data_config(ckpt["mtlkit"]["config"]["data"], ["data.num_test=7"])
    saved = OmegaConf.create(ckpt["mtlkit"]["config"]["data"])
    assert cfg.num_test == 7 and cfg.num_train == saved.num_train == 256
    assert cfg.cache_dir == str(tmp_path / "cache")
