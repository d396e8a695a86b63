"""Task families built from a shared vocabulary of parts: the classes drawn when ``data.relatedness`` is set.

A *motif* is one primitive shape in one base colour (``len(PRIMITIVES) * len(PALETTE)`` = 70 of them). Every
family class is an object of two parts stacked vertically, a top motif and a bottom motif; the class is the
ordered pair. ``relatedness`` ``r`` in [0, 1] sets how many of the ``2 C`` part slots of the ``C`` classes take
their motif from a small **shared vocabulary** (``V`` motifs, the least with ``V (V - 1) >= C``, so every class can
still be a distinct pair): exactly ``round(2 C r)`` slots, chosen by ``class_seed``. Every other slot gets a
**private** motif that no other class uses.

- ``r = 1``: every part of every class is one of the ``V`` vocabulary motifs and (for ``C >= 2``) each motif is
  part of at least two classes, so a detector of one part serves several tasks; the tasks differ only in how the
  parts are combined.
- ``r = 0``: no two classes have a motif in common. They still share the low-level features of the image:
  edges, primitive shapes (in other colours) and colours (on other shapes), and the road background.
- in between: the fraction of slots drawn from the vocabulary is ``round(2 C r) / (2 C)``.

The road objects and the procedural ``objNNN`` classes are not used in this mode (the classes are named
``fam000``, ``fam001``, ...); the unlabelled distractors are the same as in the default scenes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real

import numpy as np

from mtlkit.data.synthetic.shapes import PALETTE, PRIMITIVES, KindTable, Part, stack_kinds
from mtlkit.errors import ConfigError

NUM_MOTIFS = len(PRIMITIVES) * len(PALETTE)
PARTS_PER_CLASS = 2
_TOP = (0.0, -0.24, 0.3, 0.22)  # dx, dy, half_w, half_h in units of the object's size
_BOTTOM = (0.0, 0.24, 0.3, 0.22)
_JITTER = 0.06  # small: a motif's colour is part of its identity


def vocabulary_size(num_classes: int) -> int:
    """The least ``V >= 2`` with ``V (V - 1) >= num_classes``: enough ordered pairs of distinct motifs."""
    v = 2
    while v * (v - 1) < num_classes:
        v += 1
    return v


def _max_family_classes() -> int:
    c = 1
    while PARTS_PER_CLASS * (c + 1) + vocabulary_size(c + 1) <= NUM_MOTIFS:
        c += 1
    return c


# At relatedness 0 every slot needs its own motif, besides the vocabulary: 2 C + V <= 70.
MAX_FAMILY_CLASSES = _max_family_classes()


def check_relatedness(relatedness: object, num_classes: int | None = None) -> float | None:
    """``relatedness`` as a float in [0, 1] (or None); a one-line :class:`ConfigError` naming the key otherwise."""
    if relatedness is None:
        return None
    if isinstance(relatedness, bool) or not isinstance(relatedness, Real) or not 0.0 <= float(relatedness) <= 1.0:
        raise ConfigError(
            f"data.relatedness must be a number in [0, 1] (or null for the road objects), got {relatedness!r}"
        )
    if num_classes is not None and not 1 <= num_classes <= MAX_FAMILY_CLASSES:
        raise ConfigError(
            f"data.num_classes must be in [1, {MAX_FAMILY_CLASSES}] with data.relatedness set "
            f"(each class needs its own parts at relatedness 0), got {num_classes}"
        )
    return float(relatedness)


def family_class_names(num_classes: int) -> list[str]:
    """Task names of the family classes: ``fam000``, ``fam001``, ..."""
    return [f"fam{k:03d}" for k in range(num_classes)]


@dataclass(frozen=True)
class FamilyDesign:
    """Which motif fills each part slot of each class, and which motifs form the shared vocabulary."""

    motifs: tuple[tuple[int, ...], ...]  # [class][slot] -> motif index in 0..NUM_MOTIFS-1
    vocabulary: tuple[int, ...]  # the shared motifs
    from_vocabulary: tuple[tuple[bool, ...], ...]  # [class][slot]: drawn from the vocabulary

    def vocabulary_fraction(self) -> float:
        """Fraction of part slots whose motif comes from the shared vocabulary."""
        flags = [f for row in self.from_vocabulary for f in row]
        return sum(flags) / len(flags)

    def shared_fraction(self) -> float:
        """Fraction of part slots whose motif is also a part of another class (measured, not designed)."""
        owners: dict[int, set[int]] = {}
        for c, row in enumerate(self.motifs):
            for m in row:
                owners.setdefault(m, set()).add(c)
        slots = [len(owners[m]) > 1 for row in self.motifs for m in row]
        return sum(slots) / len(slots)


def _vocabulary_pairs(v: int) -> list[tuple[int, int]]:
    """Ordered pairs of distinct vocabulary positions, the first ``v`` of them using every position twice."""
    return [(a, (a + d) % v) for d in range(1, v) for a in range(v)]


def family_design(num_classes: int, relatedness: float, class_seed: int = 0) -> FamilyDesign:
    """The part slots of ``num_classes`` family classes at ``relatedness`` (see the module docstring)."""
    relatedness = check_relatedness(relatedness, num_classes)
    assert relatedness is not None
    rng = np.random.default_rng([class_seed, 0x5EED])
    pool = [int(m) for m in rng.permutation(NUM_MOTIFS)]
    v = vocabulary_size(num_classes)
    vocabulary, private = pool[:v], iter(pool[v:])
    slots = PARTS_PER_CLASS * num_classes
    n_shared = math.floor(slots * relatedness + 0.5)
    shared = np.zeros(slots, dtype=bool)
    shared[rng.permutation(slots)[:n_shared]] = True
    shared = shared.reshape(num_classes, PARTS_PER_CLASS)
    pairs, single = iter(_vocabulary_pairs(v)), 0
    motifs = []
    for c in range(num_classes):
        if shared[c].all():
            motifs.append(tuple(vocabulary[i] for i in next(pairs)))
            continue
        row = []
        for s in range(PARTS_PER_CLASS):
            if shared[c, s]:
                row.append(vocabulary[single % v])
                single += 1
            else:
                row.append(next(private))
        motifs.append(tuple(row))
    return FamilyDesign(tuple(motifs), tuple(vocabulary), tuple(tuple(bool(f) for f in row) for row in shared))


def motif_part(motif: int, place: tuple[float, float, float, float]) -> Part:
    """The part that draws ``motif`` at ``place`` (dx, dy, half_w, half_h)."""
    prim, colour = divmod(motif, len(PALETTE))
    return (prim, *place, PALETTE[colour], _JITTER)


def build_family_table(num_classes: int, relatedness: float, class_seed: int = 0) -> KindTable:
    """The kind table of the family classes (then the usual distractors)."""
    design = family_design(num_classes, relatedness, class_seed)
    kinds = [[motif_part(top, _TOP), motif_part(bottom, _BOTTOM)] for top, bottom in design.motifs]
    return stack_kinds(kinds, num_classes)
