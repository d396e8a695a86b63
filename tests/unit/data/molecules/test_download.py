"""A benchmark file absent at data.path: refused offline in one line (where to put it), fetched and checked against
its sha256 when reachable (a local file:// address stands in for the network: tests download nothing)."""

import hashlib

import pytest

from mtlkit.data.molecules.download import ensure_file
from mtlkit.errors import DataError


def test_offline_a_missing_file_is_refused_saying_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setenv("MTLKIT_OFFLINE", "1")
    target = tmp_path / "moleculenet" / "tox21.csv"
    with pytest.raises(DataError, match=r"tox21\.csv' does not exist and downloads are off.*put the file there"):
        ensure_file(target, "https://example.org/tox21.csv", "0" * 64)
    assert not target.parent.exists()


def test_a_fetched_file_is_written_only_when_its_sha256_matches(tmp_path, monkeypatch):
    monkeypatch.delenv("MTLKIT_OFFLINE", raising=False)
    source = tmp_path / "served.csv"
    source.write_text("smiles,a\nC,1\n")
    good = hashlib.sha256(source.read_bytes()).hexdigest()
    target = tmp_path / "data" / "tox21.csv"
    with pytest.raises(DataError, match=f"sha256 is {good}, not the expected {'0' * 64}; nothing was written"):
        ensure_file(target, source.as_uri(), "0" * 64)
    assert not target.exists() and not list(tmp_path.glob("data/.*"))
    ensure_file(target, source.as_uri(), good)
    assert target.read_bytes() == source.read_bytes()


def test_an_unreachable_address_fails_in_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv("MTLKIT_OFFLINE", raising=False)
    missing = tmp_path / "nowhere.csv"
    with pytest.raises(DataError, match="cannot be fetched.*point data.path at your copy"):
        ensure_file(tmp_path / "t.csv", missing.as_uri(), None)


def test_an_existing_file_or_no_address_needs_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("MTLKIT_OFFLINE", "1")
    present = tmp_path / "t.csv"
    present.write_text("x")
    ensure_file(present, "https://example.org/t.csv", "0" * 64)
    ensure_file(tmp_path / "absent.csv", None, None)  # read_frame says it does not exist
