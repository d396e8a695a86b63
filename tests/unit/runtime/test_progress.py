"""Without a terminal, a progress line per epoch (and every N seconds) shows that training goes on."""

from __future__ import annotations

import json

from mtlkit.run import train
from tests.conftest import TINY
from tests.helpers import compose_config


def test_a_progress_line_per_epoch_when_output_is_not_a_terminal(tmp_path, capsys):
    cfg = compose_config([*TINY, "trainer.max_epochs=2", "callbacks.progress_log.every_s=null"], tmp_path)
    train(cfg)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[mtlkit] epoch")]
    assert [line.split(":")[0] for line in lines] == [
        "[mtlkit] epoch 1/2 done (step 4)",
        "[mtlkit] epoch 2/2 done (step 8)",
    ]
    assert "train/loss " in lines[0] and "val/auroc_macro " in lines[0] and lines[0].endswith(" s")
    assert json.loads((tmp_path / "results.json").read_text())["epochs"] == 2


def test_every_n_seconds_within_an_epoch(tmp_path, capsys):
    cfg = compose_config([*TINY, "callbacks.progress_log.every_s=1e-9"], tmp_path)
    train(cfg)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[mtlkit] epoch 1/1, batch")]
    assert [line.split(" (")[0] for line in lines] == [f"[mtlkit] epoch 1/1, batch {i}/4" for i in range(1, 5)]
