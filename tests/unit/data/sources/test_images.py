"""data=images: reading, resizing, normalising, lazy reading, augmentation, caching and the CLI end to end."""

import os

import numpy as np
import pytest
import torch
from PIL import Image

from mtlkit.data.augment import ImageTransform, channel_stats
from mtlkit.data.files.image_io import load_image
from mtlkit.data.sources.images import ImageDataModule
from mtlkit.errors import ConfigError
from tests.helpers.userdata import write_image_set


def _dm(folder, **kw) -> ImageDataModule:
    kw.setdefault("cache_dir", None)
    dm = ImageDataModule(path=str(folder / "labels.csv"), verbose=False, **kw)
    dm.setup()
    return dm


def test_images_become_the_batch_contract(tmp_path):
    write_image_set(tmp_path, n=40, size=12)
    dm = _dm(tmp_path, image_size=8)
    assert dm.tasks == ["red", "blue", "bright"]  # every column but path
    assert dm.input_shape == (3, 8, 8)
    batch = next(iter(dm.train_dataloader()))
    assert set(batch) == {"x", "y", "mask", "index"} and batch["x"].dtype == torch.float32
    x = dm.splits["train"].x
    assert x.dtype == torch.uint8 and x.shape[1:] == (3, 8, 8)
    # normalised with the train images' own statistics
    norm = dm.transform(x)
    assert torch.allclose(norm.mean((0, 2, 3)), torch.zeros(3), atol=1e-4)
    assert torch.allclose(norm.std((0, 2, 3), unbiased=False), torch.ones(3), atol=1e-3)


def test_pixels_and_labels_follow_the_rows(tmp_path):
    write_image_set(tmp_path, n=30, size=12, split=True)
    dm = _dm(tmp_path, image_size=12)
    sp = dm.splits["train"]
    for k in range(len(sp)):
        i = int(sp.ids[k].split()[1]) - 2  # "line N" -> image N-2
        a = np.asarray(Image.open(tmp_path / "img" / f"{i:03d}.png")).transpose(2, 0, 1)
        assert np.array_equal(sp.x[k].numpy(), a)
        red = a[0, 2, 2] == 255 and a[1, 2, 2] == 0
        if sp.mask[k, 0]:
            assert sp.y[k, 0].item() == float(red)


def test_grey_channels_and_resize_modes(tmp_path):
    img = Image.fromarray(np.arange(20 * 40, dtype=np.uint8).reshape(20, 40) % 251)
    img.save(tmp_path / "wide.png")
    for mode in ("stretch", "crop", "pad"):
        a = load_image(tmp_path / "wide.png", (10, 10), channels=1, resize=mode)
        assert a.shape == (1, 10, 10) and a.dtype == np.uint8
    padded = load_image(tmp_path / "wide.png", (10, 10), channels=1, resize="pad")
    assert (padded[0, :2] == 0).all() and (padded[0, -2:] == 0).all()  # black borders above and below
    rgb = load_image(tmp_path / "wide.png", (6, 8), channels=3)
    assert rgb.shape == (3, 6, 8) and np.array_equal(rgb[0], rgb[1])


def test_16_bit_images_are_scaled_to_8_bits(tmp_path):
    a = np.full((8, 8), 65535, dtype=np.uint16)
    a[:4] = 0
    Image.fromarray(a).save(tmp_path / "x16.png")
    out = load_image(tmp_path / "x16.png", (8, 8), channels=1)
    assert out[0, 0, 0] == 0 and out[0, -1, 0] == 255


def test_lazy_reading_gives_the_same_batches_as_in_memory(tmp_path):
    write_image_set(tmp_path, n=30, size=12)
    eager = _dm(tmp_path, image_size=10)
    lazy = _dm(tmp_path, image_size=10, in_memory=False)
    assert lazy.input_shape == eager.input_shape == (3, 10, 10)
    for split in ("train", "val", "test"):
        a = eager.dataset(split).__getitems__(list(range(len(eager.splits[split]))))
        b = lazy.dataset(split).__getitems__(list(range(len(lazy.splits[split]))))
        assert torch.equal(a["y"], b["y"]) and torch.equal(a["mask"], b["mask"])
        assert torch.allclose(a["x"], b["x"], atol=0.05)  # lazy mean/std come from a sample: same here (n small)


def test_decoded_images_are_cached_and_a_changed_file_is_read_again(tmp_path):
    folder, cache = tmp_path / "data", tmp_path / "cache"
    write_image_set(folder, n=20, size=8)
    a = _dm(folder, image_size=8, cache_dir=str(cache))
    assert len(list(cache.glob("images-*.pt"))) == 1
    b = _dm(folder, image_size=8, cache_dir=str(cache))
    assert torch.equal(a.splits["train"].x, b.splits["train"].x)
    target = folder / "img" / "000.png"
    Image.fromarray(np.full((8, 8, 3), 7, dtype=np.uint8)).save(target)
    os.utime(target, ns=(1, 1))
    c = _dm(folder, image_size=8, cache_dir=str(cache))
    assert len(list(cache.glob("images-*.pt"))) == 2
    everything = torch.cat([c.splits[s].x for s in ("train", "val", "test")])
    assert any(bool((img == 7).all()) for img in everything)


def test_augmentations_keep_shape_and_content():
    torch.manual_seed(0)
    x = torch.randint(0, 256, (64, 3, 12, 12), dtype=torch.uint8)
    plain = ImageTransform([0.5] * 3, [0.25] * 3)
    for ops in (["hflip"], ["vflip"], ["shift"], ["brightness"], ["hflip", "vflip", "shift", "brightness"]):
        out = ImageTransform([0.5] * 3, [0.25] * 3, ops)(x)
        assert out.shape == x.shape and out.dtype == torch.float32 and torch.isfinite(out).all()
    flipped = ImageTransform([0.5] * 3, [0.25] * 3, ["hflip"])(x)
    base = plain(x)
    same = (flipped == base).flatten(1).all(1)
    mirrored = (flipped == base.flip(-1)).flatten(1).all(1)
    assert (same | mirrored).all() and 10 < int(mirrored.sum()) < 54  # about half of them, each whole


def test_shift_moves_an_image_by_whole_pixels():
    x = torch.zeros(1, 1, 8, 8, dtype=torch.uint8)
    x[0, 0, 4, 4] = 255
    torch.manual_seed(1)
    for _ in range(10):
        out = ImageTransform([0.0], [1.0], ["shift"], shift=0.25)(x)
        assert out.sum() == 1.0 and out.max() == 1.0  # the bright pixel moved, nothing smeared


def test_channel_stats_match_torch():
    x = torch.randint(0, 256, (50, 3, 5, 5), dtype=torch.uint8)
    mean, std = channel_stats(x, chunk=7)
    f = x.double() / 255
    assert np.allclose(mean, f.mean((0, 2, 3)).numpy()) and np.allclose(std, f.std((0, 2, 3), unbiased=False))


def test_bad_image_options(tmp_path):
    write_image_set(tmp_path, n=8)
    with pytest.raises(ConfigError, match="data.augment.*rotate"):
        _dm(tmp_path, augment=["rotate"])
    with pytest.raises(ConfigError, match="data.channels"):
        _dm(tmp_path, channels=2)
    with pytest.raises(ConfigError, match="data.resize"):
        _dm(tmp_path, resize="zoom")
    with pytest.raises(ConfigError, match="data.mean needs 3 values"):
        _dm(tmp_path, mean=[0.5])


def _write(root, sizes_and_modes):
    """Images of the given ``(height, width, mode)`` and a labels.csv listing them (one task)."""
    (root / "img").mkdir(parents=True, exist_ok=True)
    rows = []
    for i, (h, w, mode) in enumerate(sizes_and_modes):
        a = np.random.default_rng(i).integers(0, 255, (h, w) if mode == "L" else (h, w, 3), dtype=np.uint8)
        Image.fromarray(a, mode).save(root / f"img/{i}.png")
        rows.append(f"img/{i}.png,{i % 2}")
    (root / "labels.csv").write_text("path,t\n" + "\n".join(rows) + "\n")


def test_size_and_channels_come_from_the_images_when_not_set(tmp_path, capsys):
    _write(tmp_path, [(32, 32, "L")] * 20)
    dm = ImageDataModule(path=str(tmp_path / "labels.csv"), cache_dir=None)
    dm.setup()
    assert dm.input_shape == (1, 32, 32)  # not upsampled to 64 x 64, not copied to RGB
    assert dm.chosen_settings() == {"image_size": [32, 32], "channels": 1}
    out = capsys.readouterr().out
    assert "data.image_size and data.channels not set" in out and "image size 32x32" in out and "1 channel" in out
    first = dm.splits["train"].x[0, 0].numpy()
    i = int(dm.splits["train"].ids[0].split()[-1]) - 2  # "line N" of the CSV, header = line 1
    assert np.array_equal(first, np.asarray(Image.open(tmp_path / f"img/{i}.png")))  # the file's own pixels


def test_the_most_common_size_wins_and_large_images_are_scaled_down(tmp_path):
    _write(tmp_path / "mixed", [(20, 30, "RGB")] * 12 + [(40, 40, "L")] * 5)
    dm = _dm(tmp_path / "mixed")
    assert dm.input_shape == (3, 20, 30) and dm.chosen_settings()["channels"] == 3
    _write(tmp_path / "big", [(300, 400, "RGB")] * 10)
    dm = _dm(tmp_path / "big", channels=1)
    assert dm.input_shape == (1, 96, 128)  # aspect kept, 128 px on the longer side
    assert dm.chosen_settings() == {"image_size": [96, 128]}  # channels were set


def test_settings_given_are_kept_and_planned(tmp_path):
    _write(tmp_path, [(32, 32, "L")] * 10)
    dm = _dm(tmp_path, image_size=16, channels=3)
    assert dm.input_shape == (3, 16, 16) and dm.chosen_settings() == {}
    assert ImageDataModule.planned_input_shape({"image_size": 16, "channels": 3}) == (3, 16, 16)
    assert ImageDataModule.planned_input_shape({"image_size": None, "channels": 1}) == (1, None, None)
    with pytest.raises(ConfigError, match="data.mean needs 3 values"):
        _dm(tmp_path, mean=[0.5], channels=3)  # with channels given, before any image is read
