"""data.relatedness: task families from a shared vocabulary of parts, and the default scenes left as they were."""

import hashlib
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mtlkit.data.cache import cache_key
from mtlkit.data.synthetic.families import (
    MAX_FAMILY_CLASSES,
    NUM_MOTIFS,
    PARTS_PER_CLASS,
    build_family_table,
    family_design,
    vocabulary_size,
)
from mtlkit.data.synthetic.scenes import SceneSpec, generate_scenes
from mtlkit.errors import ConfigError


def _digest(*tensors: torch.Tensor) -> str:
    h = hashlib.sha256()
    for t in tensors:
        h.update(t.contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


# Computed with the code of commit 661f333 (before data.relatedness existed: `git archive 661f333 src | tar -x`,
# then PYTHONPATH=<that>/src) as
#   s = generate_scenes(spec); _digest(s.images, s.labels); cache_key(spec.key())
# If one of these changes, the default data set or its cache entries changed: that must not happen without
# bumping GENERATOR_VERSION and saying so in docs/data.md.
DEFAULT_SCENES = [
    (dict(num_images=64, seed=0), "1106842050337528", "f074224062fc3b9a"),
    (
        dict(num_images=48, num_classes=20, class_seed=3, grid=2, image_size=16, seed=5),
        "b63b9593627a109b",
        "d78dc4de753b6611",
    ),
]


@pytest.mark.parametrize("kwargs, images_labels, key", DEFAULT_SCENES)
def test_default_scenes_and_cache_key_are_those_of_before_relatedness(kwargs, images_labels, key):
    for spec in (SceneSpec(**kwargs), SceneSpec(**kwargs, relatedness=None)):
        s = generate_scenes(spec)
        assert _digest(s.images, s.labels) == images_labels
        assert cache_key(spec.key()) == key
        assert "relatedness" not in spec.key()


def test_relatedness_enters_the_cache_key_and_changes_the_scenes():
    base = SceneSpec(num_images=32, num_classes=4, seed=1)
    keys = {cache_key(SceneSpec(num_images=32, num_classes=4, seed=1, relatedness=r).key()) for r in (0.0, 0.5, 1.0)}
    assert len(keys | {cache_key(base.key())}) == 4
    assert SceneSpec(num_images=32, relatedness=1).key() == SceneSpec(num_images=32, relatedness=1.0).key()
    related = generate_scenes(SceneSpec(num_images=32, num_classes=4, seed=1, relatedness=1.0))
    assert not torch.equal(related.images, generate_scenes(base).images)


@pytest.mark.parametrize("num_classes", [2, 4, 8, 16, MAX_FAMILY_CLASSES])
def test_relatedness_one_shares_every_part_and_zero_shares_none(num_classes):
    one = family_design(num_classes, 1.0)
    zero = family_design(num_classes, 0.0)
    assert one.vocabulary_fraction() == 1.0 and one.shared_fraction() == 1.0
    assert len({m for row in one.motifs for m in row}) == vocabulary_size(num_classes)  # a small vocabulary
    assert zero.vocabulary_fraction() == 0.0 and zero.shared_fraction() == 0.0
    assert len({m for row in zero.motifs for m in row}) == PARTS_PER_CLASS * num_classes  # all parts private


@settings(max_examples=60, deadline=None)
@given(
    num_classes=st.integers(1, MAX_FAMILY_CLASSES),
    relatedness=st.floats(0.0, 1.0),
    class_seed=st.integers(0, 2**16),
)
def test_family_design_invariants(num_classes, relatedness, class_seed):
    d = family_design(num_classes, relatedness, class_seed)
    slots = PARTS_PER_CLASS * num_classes
    assert len(d.motifs) == num_classes and all(len(row) == PARTS_PER_CLASS for row in d.motifs)
    assert len(set(d.motifs)) == num_classes  # every class is a distinct object
    assert all(0 <= m < NUM_MOTIFS for row in d.motifs for m in row)
    assert d.vocabulary_fraction() == math.floor(slots * relatedness + 0.5) / slots
    vocab = set(d.vocabulary)
    seen: dict[int, int] = {}
    for row, flags in zip(d.motifs, d.from_vocabulary, strict=True):
        for m, shared in zip(row, flags, strict=True):
            assert (m in vocab) == shared
            seen[m] = seen.get(m, 0) + 1
    assert all(n == 1 for m, n in seen.items() if m not in vocab)  # a private part belongs to one class only
    assert d == family_design(num_classes, relatedness, class_seed)  # fixed by class_seed


def test_family_classes_are_drawn_if_and_only_if_labelled():
    spec = SceneSpec(num_images=120, num_classes=6, relatedness=1.0, image_size=24, grid=2, seed=3)
    s = generate_scenes(spec, return_owner=True)
    assert s.labels.shape == (120, 6)
    for c in range(6):
        pixels = (s.owner == c).flatten(1).sum(1)
        assert torch.equal(pixels > 0, s.labels[:, c].bool()), f"class {c}"
    table = build_family_table(6, 1.0)
    assert table.num_classes == 6 and bool(table.exists[:6, :PARTS_PER_CLASS].all())


@pytest.mark.parametrize(
    "value, num_classes, match",
    [
        (1.5, 4, "data.relatedness must be a number in \\[0, 1\\]"),
        (-0.1, 4, "data.relatedness"),
        ("high", 4, "data.relatedness"),
        (True, 4, "data.relatedness"),
        (0.5, MAX_FAMILY_CLASSES + 1, "data.num_classes must be in \\[1, "),
    ],
)
def test_bad_relatedness_is_one_line_config_error(value, num_classes, match):
    with pytest.raises(ConfigError, match=match) as err:
        SceneSpec(num_images=10, num_classes=num_classes, relatedness=value)
    assert "\n" not in str(err.value)


def test_relatedness_changes_how_objects_look_not_where_they_are():
    scenes = [
        generate_scenes(SceneSpec(num_images=40, num_classes=8, relatedness=r, image_size=24, grid=2, seed=4), True)
        for r in (0.0, 0.5, 1.0)
    ]
    for s in scenes[1:]:
        assert torch.equal(s.labels, scenes[0].labels)
        assert torch.equal(s.owner >= 8, scenes[0].owner >= 8)  # distractors untouched
        assert not torch.equal(s.images, scenes[0].images)
