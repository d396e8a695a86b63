"""data=molecules: RDKit features, bad SMILES, the features cache, descriptors standardised on train and re-used when
predicting, scaffold splits, the tox21/toxcast configs offline, and the one-line refusals."""

import importlib.util
import json

import numpy as np
import pandas as pd
import pytest
import torch

pytest.importorskip("rdkit", reason="data=molecules needs RDKit (pip install -e '.[chem]')")

from mtlkit.data.molecules import featurize  # noqa: E402
from mtlkit.data.molecules.scaffold import murcko_scaffolds  # noqa: E402
from mtlkit.data.sources.molecules import MoleculeDataModule  # noqa: E402
from mtlkit.errors import ConfigError, DataError  # noqa: E402
from tests.conftest import REPO  # noqa: E402

SAMPLE = REPO / "examples" / "molecules" / "tox21_sample.csv"
TOX21_TASKS = pd.read_csv(SAMPLE, nrows=0).columns[1:].tolist()


def _dm(path=SAMPLE, **kw) -> MoleculeDataModule:
    kw.setdefault("cache_dir", None)
    dm = MoleculeDataModule(path=str(path), verbose=kw.pop("verbose", False), **kw)
    dm.setup()
    return dm


def _with_bad_smiles(tmp_path, line: int = 5, smiles: str = "C1CC(") -> "pd.DataFrame":
    frame = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    frame.loc[line - 2, "smiles"] = smiles  # the header is line 1
    frame.to_csv(tmp_path / "bad.csv", index=False)
    return frame


def test_ecfp_bits_follow_the_batch_contract_and_label_every_other_column():
    dm = _dm()
    assert dm.tasks == TOX21_TASKS and len(dm.tasks) == 12
    assert dm.input_shape == (2048,) and sum(dm.sizes().values()) == 300
    x = torch.cat([dm.splits[s].x for s in ("train", "val", "test")])
    assert set(x.unique().tolist()) == {0.0, 1.0}
    batch = next(iter(dm.train_dataloader()))
    assert set(batch) == {"x", "y", "mask", "index"} and batch["x"].dtype == torch.float32
    assert torch.all(batch["y"][~batch["mask"]] == 0)


def test_counts_radius_and_size_are_rdkit_morgan_fingerprints():
    from rdkit import Chem
    from rdkit.Chem import rdFingerprintGenerator

    dm = _dm(features="ecfp_counts", ecfp_radius=3, ecfp_size=512)
    train = dm.splits["train"]
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=3, fpSize=512)
    expected = generator.GetCountFingerprintAsNumPy(Chem.MolFromSmiles(train.ids[0]))  # ids are the SMILES
    assert np.array_equal(train.x[0].numpy(), np.minimum(expected, 255).astype(np.float32))
    assert train.x.max() > 1  # counts, not bits


def test_a_bad_smiles_is_refused_naming_its_line_or_skipped_and_counted(tmp_path, capsys):
    _with_bad_smiles(tmp_path, line=5)
    with pytest.raises(DataError, match=r"1 of 300 SMILES.*line 5 'C1CC\('.*data\.skip_bad_rows=true"):
        _dm(tmp_path / "bad.csv")
    dm = _dm(tmp_path / "bad.csv", skip_bad_rows=True, verbose=True)
    assert sum(dm.sizes().values()) == 299
    assert all(i != "C1CC(" for s in dm.splits.values() for i in s.ids)
    assert capsys.readouterr().out.count("cannot be parsed by RDKit") == 1


def test_a_blank_smiles_column_or_a_wrong_column_fails_in_one_line(tmp_path):
    with pytest.raises(DataError, match="no column.*data.smiles_column"):
        _dm(smiles_column="SMILES")
    with pytest.raises(DataError, match=r"300 of 300.*is data\.smiles_column the SMILES column"):
        _dm(smiles_column="NR-AR", label_columns=["SR-p53"])
    with pytest.raises(DataError, match="no column.*'NR-XX'.*data.label_columns"):
        _dm(label_columns=["NR-AR", "NR-XX"])


def test_an_unlabelled_task_fails_before_training(tmp_path):
    frame = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    frame["empty"] = ""
    frame.to_csv(tmp_path / "e.csv", index=False)
    with pytest.raises(DataError, match=r"\['empty'\] have no labelled entry"):
        _dm(tmp_path / "e.csv")


def test_an_empty_task_in_the_scaffold_train_split_fails_naming_it(tmp_path):
    frame = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    _, scaffolds = MoleculeDataModule, murcko_scaffolds(featurize.parse_smiles(frame["smiles"].tolist()))
    sizes = pd.Series(scaffolds).value_counts()
    rare = [i for i, s in enumerate(scaffolds) if sizes[s] == 1][-5:]  # singletons go to val/test last
    frame["rare"] = ""
    frame.loc[rare, "rare"] = ["1", "0", "1", "0", "1"]
    frame.to_csv(tmp_path / "r.csv", index=False)
    with pytest.raises(DataError, match=r"'rare'.*no labelled entry in the train rows of data.split=scaffold"):
        _dm(tmp_path / "r.csv", split="scaffold")


def test_scaffold_split_keeps_each_scaffold_in_one_split_and_fills_train_with_the_largest():
    dm = _dm(split="scaffold")
    smiles = pd.read_csv(SAMPLE)["smiles"].tolist()
    scaffold_of = dict(zip(smiles, murcko_scaffolds(featurize.parse_smiles(smiles))))
    where = {}
    for name, sp in dm.splits.items():
        for i in sp.ids:
            assert where.setdefault(scaffold_of[i], name) == name
    largest = pd.Series(list(scaffold_of.values())).value_counts().index[0]
    assert where[largest] == "train"
    assert "scaffold 0.8/0.1/0.1" in dm.split_source
    assert _dm(split="scaffold").splits["test"].ids == dm.splits["test"].ids


def test_scaffold_split_and_a_group_column_are_refused_together():
    with pytest.raises(ConfigError, match="data.group_column=null or data.split=random"):
        MoleculeDataModule(path=str(SAMPLE), split="scaffold", group_column="site")


def test_descriptors_are_standardised_on_train_and_the_fit_is_reused_on_another_file(tmp_path):
    dm = _dm(features="ecfp+descriptors")
    n_desc = len(featurize.descriptor_names())
    assert dm.input_shape == (2048 + n_desc,)
    desc = dm.splits["train"].x[:, 2048:].numpy()
    assert np.isfinite(desc).all() and np.abs(desc).max() <= 10
    saved = json.loads(json.dumps(dm.fitted_preprocessing()))
    # a file of SMILES only (shuffled, one extra column): each molecule gets the inputs it had in training
    frame = pd.read_csv(SAMPLE).sample(frac=1.0, random_state=0)[["smiles"]]
    frame["note"] = "x"
    frame.to_csv(tmp_path / "new.csv", index=False)
    new = MoleculeDataModule(path=str(tmp_path / "new.csv"), features="ecfp", cache_dir=None, verbose=False)
    new.use_fitted(saved, whole_file=True)
    new.setup()
    assert new.input_shape == dm.input_shape  # the stored featuriser wins over the config's
    train_row = {s: k for k, s in enumerate(dm.splits["train"].ids)}
    test = new.splits["test"]
    assert test.ids == frame["smiles"].tolist()  # the whole file, in file order
    same = [(k, train_row[s]) for k, s in enumerate(test.ids) if s in train_row]
    assert len(same) == len(dm.splits["train"])
    for k, j in same[:50]:
        assert torch.allclose(test.x[k], dm.splits["train"].x[j], atol=1e-5)
    assert not test.mask.any()


def test_features_are_cached_by_file_content_and_featuriser(tmp_path, monkeypatch):
    first = _dm(cache_dir=str(tmp_path / "cache"))
    assert len(list((tmp_path / "cache").glob("molecules-*.pt"))) == 1

    def no_featurising(*args, **kwargs):
        raise AssertionError("featurised again")

    monkeypatch.setattr("mtlkit.data.sources.molecules.fingerprints", no_featurising)
    again = _dm(cache_dir=str(tmp_path / "cache"))
    assert torch.equal(again.splits["train"].x, first.splits["train"].x)
    with pytest.raises(AssertionError, match="featurised again"):
        _dm(cache_dir=str(tmp_path / "cache"), ecfp_radius=1)


@pytest.mark.parametrize("features", ["", "ecfp+ecfp_counts", "maccs", "ecfp+ecfp"])
def test_bad_feature_settings_fail_naming_the_key(features):
    with pytest.raises(ConfigError, match="data.features"):
        MoleculeDataModule(path=str(SAMPLE), features=features)


def test_without_rdkit_the_source_says_how_to_install_it(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "rdkit" else real(name, *a))
    with pytest.raises(ConfigError, match=r'pip install -e "\.\[chem\]"'):
        MoleculeDataModule(path=str(SAMPLE))


@pytest.mark.parametrize("name", ["tox21", "toxcast"])
def test_a_benchmark_without_its_file_is_refused_offline_saying_where_to_put_it(name, tmp_path, monkeypatch):
    from mtlkit.build.builders import build_datamodule
    from tests.helpers import compose_config

    monkeypatch.setenv("MTLKIT_OFFLINE", "1")
    cfg = compose_config([f"data={name}", "model=mlp"], tmp_path)
    file_name = cfg.data.url.split("/")[-1]
    assert cfg.data.sha256 and str(cfg.data.path).endswith(f"moleculenet/{file_name}")
    with pytest.raises(DataError, match="does not exist and downloads are off.*put the file there"):
        build_datamodule(cfg.data)


def test_the_tox21_config_reads_the_sample_with_its_twelve_tasks(tmp_path):
    from mtlkit.build.builders import build_datamodule
    from tests.helpers import compose_config

    cfg = compose_config(["data=tox21", f"data.path={SAMPLE}", "+data.verbose=false", "model=mlp"], tmp_path)
    dm = build_datamodule(cfg.data)
    assert dm.tasks == TOX21_TASKS and dm.input_shape == (2048,)
