"""data=molecules through the console scripts: the README's "Molecules" commands train on the shipped SMILES sample
and predict a file of SMILES only; a bad SMILES is one line before any run folder; the full Tox21 file when the
shared data folder is there."""

from __future__ import annotations

import csv
import json
import re
import shlex

import pytest

from tests.conftest import REPO
from tests.helpers import results_files, run_cli

pytestmark = pytest.mark.slow
pytest.importorskip("rdkit", reason="data=molecules needs RDKit (pip install -e '.[chem]')")

SHARED_TOX21 = REPO.parent / "shared" / "data" / "moleculenet" / "tox21.csv"
QUICK = ["trainer.max_epochs=1", "logger=csv", "callbacks.rich_progress_bar=null"]


def _readme_molecule_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    section = text.split("### Molecules: SMILES files, Tox21 and ToxCast", 1)[1].split("\n### ", 1)[0]
    return re.findall(r"^(mtlkit-(?:train|predict) .*)$", section, flags=re.M)


def test_the_readme_trains_on_smiles_and_predicts_a_file_of_smiles_only(tmp_path, monkeypatch):
    train_cmd, predict_cmd = [c for c in _readme_molecule_commands() if "examples/molecules" in c]
    monkeypatch.chdir(REPO)  # the README's paths are relative to the repository root
    proc = run_cli([*shlex.split(train_cmd)[1:], *QUICK], tmp_path / "out")
    assert proc.returncode == 0, proc.stderr[-3000:]
    (results,) = results_files(tmp_path / "out")
    res = json.loads(results.read_text())
    assert res["data"]["name"] == "molecules" and len(res["tasks"]) == 12 and res["data"]["input_shape"] == [2048]
    args = shlex.split(predict_cmd)[1:]
    args[0] = str(results.parent)  # outputs/train/runs/<run>
    out = tmp_path / "pred.csv"
    proc = run_cli([*args, "--output", str(out)], tmp_path / "out", module="mtlkit.cli.predict")
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = list(csv.DictReader(out.open()))
    smiles = [r["smiles"] for r in csv.DictReader((REPO / "examples/molecules/new_smiles.csv").open())]
    assert [r["id"] for r in rows] == smiles  # ids are the SMILES, in file order
    assert all(0.0 <= float(r[f"prob_{t}"]) <= 1.0 for r in rows for t in res["tasks"])


def test_a_bad_smiles_is_one_line_and_no_run_starts(tmp_path):
    lines = (REPO / "examples/molecules/tox21_sample.csv").read_text().splitlines()
    lines[3] = "not_a_smiles" + lines[3][lines[3].index(",") :]
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n")
    proc = run_cli(["data=molecules", f"data.path={path}", "model=mlp", *QUICK], tmp_path / "out")
    assert proc.returncode != 0
    message = [ln for ln in proc.stderr.splitlines() if "cannot be parsed by RDKit" in ln]
    assert len(message) == 1 and "line 4 'not_a_smiles'" in message[0] and "data.skip_bad_rows=true" in message[0]
    assert "Traceback" not in proc.stderr and not results_files(tmp_path / "out")


@pytest.mark.skipif(not SHARED_TOX21.is_file(), reason=f"no {SHARED_TOX21} (the shared MoleculeNet files)")
def test_tox21_from_the_shared_folder_leaves_out_its_eight_bad_smiles(tmp_path):
    proc = run_cli(
        ["data=tox21", f"data.path={SHARED_TOX21}", "model=mlp", "data.features=ecfp", *QUICK], tmp_path / "out"
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "8 of 7831 SMILES" in proc.stdout
    res = json.loads(results_files(tmp_path / "out")[0].read_text())
    assert sum(res["data"]["sizes"].values()) == 7823
