"""data=fashion_grid on fake idx files written here: labels match the pasted garments, splits keep their sources."""

import gzip
import struct

import numpy as np
import pytest
import torch

from mtlkit.data.sources.fashion import CLASSES, FashionGridDataModule, make_grids, read_idx
from mtlkit.errors import DataError


def write_idx(path, array: np.ndarray, gz: bool = True) -> None:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    if gz:
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)


def fake_fashion(root, n_train: int = 120, n_test: int = 40, gz: bool = True):
    """Garment i is a 28x28 image filled with its own id (train ids 1.., test ids 200..) and class i % 10, so
    every pasted cell says which source image it came from."""
    root.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    for split, n, first in (("train", n_train, 1), ("t10k", n_test, 200)):
        ids = np.arange(first, first + n)
        images = np.broadcast_to(ids[:, None, None], (n, 28, 28)).astype(np.uint8)
        write_idx(root / f"{split}-images-idx3-ubyte{suffix}", images, gz)
        write_idx(root / f"{split}-labels-idx1-ubyte{suffix}", (np.arange(n) % 10).astype(np.uint8), gz)
    return root


def _dm(root, **kw) -> FashionGridDataModule:
    kw = {"num_train": 50, "num_val": 20, "num_test": 30, "cache_dir": None, "verbose": False, **kw}
    dm = FashionGridDataModule(root=str(root), **kw)
    dm.setup()
    return dm


def test_read_idx_gz_and_plain(tmp_path):
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a.gz", a)
    write_idx(tmp_path / "a", a, gz=False)
    assert np.array_equal(read_idx(tmp_path / "a.gz"), a) and np.array_equal(read_idx(tmp_path / "a"), a)
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(DataError, match="not an idx file"):
        read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes((tmp_path / "a").read_bytes()[:-3])
    with pytest.raises(DataError, match="truncated"):
        read_idx(tmp_path / "short")


@pytest.mark.parametrize("gz", [True, False])
def test_labels_match_the_pasted_garments(tmp_path, gz):
    root = fake_fashion(tmp_path / "fm", gz=gz)
    dm = _dm(root)
    assert dm.tasks == list(CLASSES) and dm.input_shape == (1, 56, 56)
    for split in ("train", "val", "test"):
        sp, src = dm.splits[split], dm.sources[split]
        first = 200 if split == "test" else 1
        for k in range(len(sp)):
            img = sp.x[k, 0].numpy()
            cells = [img[r * 28 : (r + 1) * 28, c * 28 : (c + 1) * 28] for r in range(2) for c in range(2)]
            present = np.zeros(10)
            for cell, s in zip(cells, src[k]):
                value = int(cell[0, 0])
                assert (cell == value).all()  # one whole garment (or empty) per cell
                if value == 0:
                    assert s == -1
                else:
                    assert s == value - first  # the pixels are the garment the source index names
                    present[(value - first) % 10] = 1
            assert np.array_equal(sp.y[k].numpy(), present)
            assert 0 <= (src[k] >= 0).sum() <= 4


def test_test_grids_use_only_test_images_and_val_train_are_disjoint(tmp_path):
    dm = _dm(fake_fashion(tmp_path / "fm"), num_train=200, num_val=100, num_test=100)
    xs = {s: set(np.unique(dm.splits[s].x.numpy()).tolist()) - {0} for s in ("train", "val", "test")}
    assert all(v >= 200 for v in xs["test"]) and all(v < 200 for v in xs["train"] | xs["val"])
    assert not xs["train"] & xs["val"]
    assert len(xs["val"]) == 20 and len(xs["train"]) == 100  # 1/6 of 120 train garments reserved for val


def test_grids_are_deterministic_and_seeded(tmp_path):
    root = fake_fashion(tmp_path / "fm")
    a, b, c = _dm(root, seed=1), _dm(root, seed=1, cache_dir=str(tmp_path / "cache")), _dm(root, seed=2)
    cached = _dm(root, seed=1, cache_dir=str(tmp_path / "cache"))
    for split in ("train", "test"):
        assert torch.equal(a.splits[split].x, b.splits[split].x) and torch.equal(
            a.splits[split].y, cached.splits[split].y
        )
    assert not torch.equal(a.splits["train"].x, c.splits["train"].x)


def test_garment_counts_are_in_range_and_cover_0_to_4():
    rng = np.random.default_rng(0)
    images = np.ones((30, 28, 28), dtype=np.uint8)
    _, y, source = make_grids(images, np.arange(30) % 10, 500, rng)
    counts = (source >= 0).sum(1)
    assert set(counts.tolist()) == {0, 1, 2, 3, 4}
    assert (y.sum(1) <= counts).all()
    _, _, source = make_grids(images, np.arange(30) % 10, 100, rng, min_items=2, max_items=3)
    assert set((source >= 0).sum(1).tolist()) == {2, 3}


def test_image_size_and_label_hiding(tmp_path):
    dm = _dm(fake_fashion(tmp_path / "fm"), image_size=28, missing_rate=0.5, num_train=200)
    assert dm.input_shape == (1, 28, 28)
    unknown = sum(c["unknown"] for c in dm.label_counts()["train"].values())
    assert 0.4 < unknown / (200 * 10) < 0.6
    assert all(c["unknown"] == 0 for c in dm.label_counts()["test"].values())


def test_missing_files_say_how_to_install(tmp_path):
    with pytest.raises(DataError) as err:
        _dm(tmp_path / "empty")
    msg = str(err.value)
    assert "train-images-idx3-ubyte" in msg and "apt-get install dataset-fashion-mnist" in msg
    assert "data.root" in msg and str(tmp_path / "empty") in msg
