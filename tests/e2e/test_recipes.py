"""CONTRIBUTING's recipes for a fine-tuning strategy, a transfer source and a data source, followed literally by a
user who edits no file of mtlkit: the classes live in a module of their own (on PYTHONPATH), the configs in a folder
put on Hydra's search path (``hydra.searchpath=[file://DIR]``), and ``mtlkit-train`` composes, checks and runs
them through their ``_target_`` alone."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from tests.helpers import results_files
from tests.helpers.subprocess_runs import train

pytestmark = pytest.mark.slow

PLUGINS = '''
from typing import ClassVar

import torch

from mtlkit.approaches.transfer_source import SourceBackbone, TransferSource
from mtlkit.config_checks.rules import Rule, integer
from mtlkit.data.base import MultiLabelDataModule, SplitData
from mtlkit.errors import ConfigError
from mtlkit.finetune.phases import Phase
from mtlkit.finetune.strategy import FinetuneStrategy


class HeadsThenAll(FinetuneStrategy):
    """finetune=heads_then_all: the heads alone for finetune.head_epochs, then everything."""

    option_rules: ClassVar[dict[str, Rule]] = {"head_epochs": integer(1)}

    def phases(self, max_epochs):
        start = self.epoch_before_end("head_epochs", max_epochs)
        return [Phase("heads", 0), Phase("all", None, start_epoch=start)]


class Blobs(MultiLabelDataModule):
    """data=blobs: Gaussian 3x8x8 inputs; task a: mean > 0, task b: mean > 0.1."""

    name = "blobs"
    option_rules: ClassVar[dict[str, Rule]] = {"num_things": integer(1)}

    def __init__(self, num_things: int = 64, **kwargs):
        super().__init__(**kwargs)
        self.num_things = num_things

    def load_splits(self):
        splits = {}
        for i, split in enumerate(("train", "val", "test")):
            gen = torch.Generator().manual_seed(self.seed * 3 + i)
            x = torch.randn(self.num_things, 3, 8, 8, generator=gen)
            y = (x.mean(dim=(1, 2, 3))[:, None] > torch.tensor([0.0, 0.1])).float()
            ids = [f"{split}-{j}" for j in range(len(y))]
            splits[split] = SplitData(x, y, torch.ones_like(y, dtype=torch.bool), ids)
        return ["a", "b"], splits


class FreshBackbone(TransferSource):
    """transfer.source=fresh: the model's freshly initialised backbone (a control: transfer without a source)."""

    @classmethod
    def preflight(cls, cfg):
        if cfg.transfer.get("task") is not None:
            raise ConfigError("transfer.source=fresh has no networks to choose from: drop transfer.task")

    def backbone(self, cfg, target):
        return SourceBackbone(None, "a freshly initialised backbone", {}, {"fresh": True})
'''

CONFIGS = {
    "finetune/heads_then_all.yaml": """
        _target_: my_plugins.HeadsThenAll
        strategy: heads_then_all
        head_epochs: 1       # epochs of the heads alone
    """,
    "data/blobs.yaml": """
        _target_: my_plugins.Blobs
        num_things: 64
        tasks: null
        derived: null
        missing_rate: 0.0
        missing_mode: random
        hide_splits: [train]
        batch_size: 16
        eval_batch_size: 64
        num_workers: 0
        seed: 0
    """,
}


@pytest.fixture(scope="module")
def user_plugins(tmp_path_factory) -> Path:
    """A folder holding the user's module (my_plugins.py) and configs (conf/), nothing of mtlkit's."""
    root = tmp_path_factory.mktemp("user_plugins")
    (root / "my_plugins.py").write_text(PLUGINS)
    for name, text in CONFIGS.items():
        path = root / "conf" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return root


def _user_args(root: Path) -> list[str]:
    return [
        f"hydra.searchpath=[file://{root / 'conf'}]",
        "approach=transfer",
        "finetune=heads_then_all",
        "data=blobs",
        "+approach.sources.fresh=my_plugins.FreshBackbone",  # a short name for it, from the command line
        "transfer.source=fresh",
        "model.width=8",
        "logger=csv",
        "callbacks.rich_progress_bar=null",
    ]


def _train(root: Path, args: list[str], log_dir: Path):
    path = os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH", "")) if p)
    return train([*_user_args(root), *args], log_dir, PYTHONPATH=path)


@pytest.mark.xdist_group("recipes")
def test_the_three_plugins_compose_from_their_own_configs(user_plugins, tmp_path):
    proc = _train(user_plugins, ["--cfg", "job", "--resolve"], tmp_path / "logs")
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = proc.stdout
    assert "_target_: my_plugins.HeadsThenAll" in text and "head_epochs: 1" in text
    assert "_target_: my_plugins.Blobs" in text and "num_things: 64" in text
    assert "fresh: my_plugins.FreshBackbone" in text


REFUSALS = {
    "the strategy's option_rules": (["finetune.head_epochs=0"], "finetune.head_epochs=0: expected an integer >= 1"),
    "the strategy's phases": (
        ["finetune.head_epochs=3", "trainer.max_epochs=3"],
        "finetune.head_epochs=3 must be in [1, trainer.max_epochs=3)",
    ),
    "the data source's option_rules": (["data.num_things=0"], "data.num_things=0: expected an integer >= 1"),
    "the transfer source's preflight": (["transfer.task=a"], "transfer.source=fresh has no networks to choose"),
    "the source as a class path": (
        ["transfer.source=my_plugins.NoSuchSource"],
        "give the class path of a mtlkit.approaches.transfer_source.TransferSource",
    ),
}


@pytest.mark.parametrize("args, words", REFUSALS.values(), ids=REFUSALS.keys())
def test_each_plugin_checks_its_own_options_before_any_work(user_plugins, tmp_path, args, words):
    proc = _train(user_plugins, args, tmp_path / "logs")
    lines = [line for line in proc.stderr.splitlines() if line.strip() and "torchvision" not in line]
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert len(lines) == 1 and lines[0].startswith("mtlkit-train: error: ") and words in lines[0], proc.stderr
    assert not (tmp_path / "logs").exists(), "a refused command created a folder"


@pytest.mark.xdist_group("recipes")
def test_a_run_with_the_three_plugins_trains_and_records_them(user_plugins, tmp_path):
    proc = _train(user_plugins, ["trainer.max_epochs=2", "seed=0"], tmp_path / "logs")
    assert proc.returncode == 0, proc.stderr[-3000:]
    (file,) = results_files(tmp_path / "logs")
    res = json.loads(file.read_text())
    assert res["transfer"]["source"] == {"fresh": True}
    assert res["finetune"]["strategy"] == "heads_then_all" and res["finetune"]["head_epochs"] == 1
    phases = res["finetune"]["phases"]
    assert [(p["name"], p["start_epoch"]) for p in phases] == [("heads", 0), ("all", 1)]
    assert phases[0]["parameters"]["parts"]["backbone"]["trainable"] == 0
    assert phases[1]["parameters"]["parts"]["backbone"]["trainable"] > 0
    assert res["data"]["name"] == "blobs" and res["tasks"] == ["a", "b"]
