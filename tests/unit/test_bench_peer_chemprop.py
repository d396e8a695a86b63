"""scripts/bench_peer_chemprop.py without chemprop: the split it hands the peer is mtlkit's split (every parsed row
once, disjoint, the data module's own rows and labels, bad SMILES left out and mapped back to file rows), the files
chemprop reads hold exactly that, and a missing chemprop is refused in one line before any work."""

from __future__ import annotations

import importlib.util
import json
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtlkit.build import build_datamodule
from mtlkit.config import compose_train
from mtlkit.data.base import SPLITS
from tests.conftest import REPO

pytest.importorskip("rdkit")

spec = importlib.util.spec_from_file_location("bench_peer_chemprop", REPO / "scripts" / "bench_peer_chemprop.py")
bench = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = bench  # dataclasses look their module up
spec.loader.exec_module(bench)

BAD = ["O=CO[AlH3](OC=O)OC=O", "not a smiles"]  # RDKit cannot parse these; data=tox21 leaves them out


@pytest.fixture(scope="module")
def molecules(tmp_path_factory) -> tuple[str, pd.DataFrame]:
    """The shipped 300-row Tox21 sample with two unparsable SMILES put in at rows 5 and 100."""
    table = pd.read_csv(REPO / "examples" / "molecules" / "tox21_sample.csv")
    bad = table.iloc[:2].copy()
    bad["smiles"] = BAD
    table = pd.concat([table.iloc[:5], bad.iloc[:1], table.iloc[5:99], bad.iloc[1:], table.iloc[99:]])
    path = tmp_path_factory.mktemp("molecules") / "tox21.csv"
    table.to_csv(path, index=False)
    return str(path), pd.read_csv(path)


def overrides(path: str, seed: int, split: str) -> list[str]:
    return ["data=tox21", f"data.path={path}", f"seed={seed}", f"data.seed={seed}", f"data.split={split}"]


def check_export(path: str, table: pd.DataFrame, seed: int, split: str) -> None:
    export = bench.export_split(overrides(path, seed, split))
    parsed = [i for i, s in enumerate(table["smiles"]) if s not in BAD]
    # every parsed row once, in file order, mapped back to its row of the file
    assert export.file_rows.tolist() == parsed
    assert export.smiles == table["smiles"].iloc[parsed].tolist()
    positions = np.concatenate([export.indices[name] for name in SPLITS])
    assert sorted(positions.tolist()) == list(range(len(parsed)))
    # the same split as the data module mtlkit-train builds from the same overrides (a fresh one)
    dm = build_datamodule(compose_train(overrides(path, seed, split)).data)
    for name in SPLITS:
        assert [export.smiles[i] for i in export.indices[name]] == dm.splits[name].ids
    # the labels are the file's cells: 1, 0, or missing
    cells = table[export.tasks].iloc[parsed].to_numpy(float)
    np.testing.assert_array_equal(export.labels, cells)
    y, mask = export.test_targets()
    assert mask.numpy().tolist() == dm.splits["test"].mask.numpy().tolist()
    assert y[mask].tolist() == dm.splits["test"].y[dm.splits["test"].mask].int().tolist()


@pytest.mark.parametrize("split", ["random", "scaffold"])
def test_the_exported_split_is_the_data_modules(molecules, split):
    check_export(*molecules, seed=0, split=split)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000))
def test_the_exported_split_is_the_data_modules_for_any_seed(molecules, seed):
    check_export(*molecules, seed=seed, split="random")


def test_chemprop_reads_the_exported_rows_labels_and_splits(molecules, tmp_path):
    path, table = molecules
    export = bench.export_split(overrides(path, 1, "random"))
    export.chemprop_csv(tmp_path / "data.csv")
    export.splits_json(tmp_path / "splits.json")
    written = pd.read_csv(tmp_path / "data.csv")
    assert written.columns.tolist() == ["smiles", *export.tasks]
    assert written["smiles"].tolist() == export.smiles
    np.testing.assert_array_equal(written[export.tasks].to_numpy(float), export.labels)
    assert set(np.unique(written[export.tasks].dropna().to_numpy())) <= {0, 1}
    (splits,) = json.loads((tmp_path / "splits.json").read_text())  # one replicate, chemprop's --splits-file
    assert {name: splits[name] for name in SPLITS} == {name: export.indices[name].tolist() for name in SPLITS}


def test_the_shared_metric_scores_each_side_on_mtlkits_test_labels(molecules):
    path, _ = molecules
    export = bench.export_split(overrides(path, 0, "random"))
    y, mask = export.test_targets()
    run = bench.Run("peer", "random", 0, [])
    bench.score(run, np.where(mask.numpy(), y.numpy(), 0.5), export)  # the labels themselves: a perfect ranking
    assert run.auroc == 1.0 and run.ap == 1.0
    bench.score(run, 1.0 - y.numpy(), export)  # the reverse ranking
    assert run.auroc == 0.0


def test_a_missing_chemprop_is_refused_in_one_line_before_any_work(tmp_path, capsys):
    missing = tmp_path / "no-venv" / "bin" / "chemprop"
    with pytest.raises(SystemExit) as refused:
        bench.main(["--peer", str(missing), "--data", str(tmp_path / "absent.csv"), "--out", str(tmp_path / "out")])
    message = str(refused.value.code)
    assert "\n" not in message
    assert str(missing) in message and "pip install torch==2.13.0 chemprop==2.3.0" in message
    assert not (tmp_path / "out").exists()


def test_the_table_pairs_the_sides_by_seed():
    runs = [
        bench.Run("mtlkit", "random", s, [], train_s=60.0, auroc=a, ap=0.4) for s, a in [(0, 0.80), (1, 0.84), (2, 0.9)]
    ]
    runs += [bench.Run("chemprop", "random", s, [], train_s=600.0, auroc=a, ap=0.5) for s, a in [(0, 0.82), (1, 0.83)]]
    table = bench.markdown(runs)
    assert "| random | mtlkit | 3 | 0.847 ± 0.050 | 0.400 ± 0.000 | 60 ± 0 |" in table
    assert "| random | mtlkit − chemprop | 2 | -0.005 ± 0.021 | -0.100 ± 0.000 | |" in table  # seed 2 has no pair
