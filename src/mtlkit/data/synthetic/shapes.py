"""Object kinds drawn into synthetic road scenes: the labelled classes and the unlabelled distractors.

A kind is a list of up to ``MAX_PARTS`` parts. A part is a primitive shape placed relative to the object's box
(offsets and half-sizes in units of the object's size), with a base colour and a colour-jitter amplitude.
All parts of one object share one random colour shift, scaled by each part's amplitude, so a car's body and
roof keep the same (random) paint while its wheels stay black.

The first four classes are the road objects of the mission (pedestrian, car, stop sign, traffic light).
Further classes (``num_classes > 4``) are procedural: each is a distinct combination of body primitive, colour
and mark, so they differ as objects but share low-level features (edges, colours, shapes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

PRIMITIVES = ("rect", "ellipse", "triangle", "diamond", "octagon", "cross", "ring")
RECT, ELLIPSE, TRIANGLE, DIAMOND, OCTAGON, CROSS, RING = range(len(PRIMITIVES))
MAX_PARTS = 4
ROAD_CLASSES = ("pedestrian", "car", "stop_sign", "traffic_light")

# (primitive, dx, dy, half_w, half_h, (r, g, b), jitter)
Part = tuple[int, float, float, float, float, tuple[float, float, float], float]

SKIN = (0.85, 0.65, 0.5)
BLACK = (0.05, 0.05, 0.05)
WHITE = (0.95, 0.95, 0.95)
GREY = (0.55, 0.55, 0.55)
ANY = (0.5, 0.5, 0.5)  # with jitter 0.5: any colour

ROAD_KINDS: dict[str, list[Part]] = {
    "pedestrian": [
        (RECT, 0.0, 0.12, 0.16, 0.34, ANY, 0.5),
        (ELLIPSE, 0.0, -0.35, 0.13, 0.13, SKIN, 0.08),
    ],
    "car": [
        (RECT, 0.0, 0.08, 0.48, 0.18, ANY, 0.5),
        (RECT, 0.0, -0.16, 0.27, 0.12, ANY, 0.5),
        (ELLIPSE, -0.27, 0.3, 0.11, 0.11, BLACK, 0.03),
        (ELLIPSE, 0.27, 0.3, 0.11, 0.11, BLACK, 0.03),
    ],
    "stop_sign": [
        (RECT, 0.0, 0.3, 0.05, 0.2, GREY, 0.1),
        (OCTAGON, 0.0, -0.12, 0.34, 0.34, (0.8, 0.1, 0.1), 0.1),
        (RECT, 0.0, -0.12, 0.22, 0.06, WHITE, 0.05),
    ],
    "traffic_light": [
        (RECT, 0.0, 0.0, 0.17, 0.48, (0.15, 0.15, 0.15), 0.08),
        (ELLIPSE, 0.0, -0.3, 0.1, 0.1, (0.9, 0.15, 0.1), 0.1),
        (ELLIPSE, 0.0, 0.0, 0.1, 0.1, (0.9, 0.8, 0.1), 0.1),
        (ELLIPSE, 0.0, 0.3, 0.1, 0.1, (0.1, 0.8, 0.2), 0.1),
    ],
}

# Unlabelled objects that share colours and shapes with the classes, so presence is not a colour test.
DISTRACTOR_KINDS: dict[str, list[Part]] = {
    "tree": [
        (RECT, 0.0, 0.3, 0.06, 0.2, (0.4, 0.25, 0.1), 0.05),
        (ELLIPSE, 0.0, -0.1, 0.35, 0.33, (0.15, 0.55, 0.15), 0.12),
    ],
    "red_ball": [(ELLIPSE, 0.0, 0.0, 0.3, 0.3, (0.8, 0.1, 0.1), 0.1)],
    "dark_post": [(RECT, 0.0, 0.0, 0.12, 0.46, (0.15, 0.15, 0.15), 0.08)],
    "box": [(RECT, 0.0, 0.0, 0.4, 0.3, ANY, 0.5)],
    "sign": [(RECT, 0.0, 0.3, 0.05, 0.2, GREY, 0.1), (DIAMOND, 0.0, -0.12, 0.32, 0.32, (0.9, 0.75, 0.1), 0.1)],
    "blob": [(ELLIPSE, 0.0, 0.0, 0.25, 0.4, ANY, 0.5)],
}

_PALETTE = [
    (0.85, 0.1, 0.1),
    (0.1, 0.6, 0.15),
    (0.1, 0.25, 0.85),
    (0.9, 0.8, 0.1),
    (0.6, 0.15, 0.7),
    (0.95, 0.5, 0.1),
    (0.1, 0.7, 0.75),
    (0.9, 0.4, 0.65),
    (0.45, 0.3, 0.15),
    (0.9, 0.9, 0.9),
]
_MARKS = ("none", "dot", "bar", "top", "pole")
PALETTE: tuple[tuple[float, float, float], ...] = tuple(_PALETTE)  # the base colours of procedural parts
MAX_CLASSES = len(ROAD_CLASSES) + len(PRIMITIVES) * len(_PALETTE) * len(_MARKS)


def _procedural_kind(index: int, seed: int) -> list[Part]:
    """The ``index``-th procedural class: a unique (primitive, colour, mark) combination."""
    combos = len(PRIMITIVES) * len(_PALETTE) * len(_MARKS)
    order = np.random.default_rng(seed).permutation(combos)
    combo = int(order[index])
    prim, rest = divmod(combo, len(_PALETTE) * len(_MARKS))
    colour_idx, mark_idx = divmod(rest, len(_MARKS))
    colour = _PALETTE[colour_idx]
    contrast = BLACK if sum(colour) > 1.6 else WHITE
    aspect = 0.7 + 0.6 * ((combo * 7919) % 100) / 100.0  # fixed per class, in [0.7, 1.3)
    half_w, half_h = 0.32 * aspect**0.5, 0.32 / aspect**0.5
    parts: list[Part] = [(prim, 0.0, 0.0, half_w, half_h, colour, 0.08)]
    mark = _MARKS[mark_idx]
    if mark == "dot":
        parts.append((ELLIPSE, 0.0, 0.0, 0.09, 0.09, contrast, 0.05))
    elif mark == "bar":
        parts.append((RECT, 0.0, 0.0, half_w * 0.7, 0.05, contrast, 0.05))
    elif mark == "top":
        parts.append((RECT, 0.0, -half_h - 0.06, half_w * 0.6, 0.06, contrast, 0.05))
    elif mark == "pole":
        parts.insert(0, (RECT, 0.0, 0.32, 0.05, 0.18, GREY, 0.1))
    return parts


def class_names(num_classes: int) -> list[str]:
    """Task names for ``num_classes`` classes: the four road objects, then ``obj004``, ``obj005``, ..."""
    if not 1 <= num_classes <= MAX_CLASSES:
        raise ValueError(f"num_classes must be in [1, {MAX_CLASSES}], got {num_classes}")
    names = list(ROAD_CLASSES[:num_classes])
    names += [f"obj{k:03d}" for k in range(len(ROAD_CLASSES), num_classes)]
    return names


@dataclass(frozen=True)
class KindTable:
    """Part parameters of every kind as tensors indexed ``[kind, part]`` (classes first, then distractors)."""

    exists: torch.Tensor  # bool [K, P]
    prim: torch.Tensor  # long [K, P]
    offset: torch.Tensor  # float [K, P, 2] (dx, dy)
    half: torch.Tensor  # float [K, P, 2] (half_w, half_h)
    colour: torch.Tensor  # float [K, P, 3]
    jitter: torch.Tensor  # float [K, P]
    num_classes: int

    @property
    def num_distractors(self) -> int:
        return self.exists.shape[0] - self.num_classes


def build_kind_table(num_classes: int, class_seed: int = 0) -> KindTable:
    """Stack the parts of the first ``num_classes`` classes and of all distractors into tensors."""
    kinds: list[list[Part]] = []
    for k, name in enumerate(class_names(num_classes)):
        kinds.append(ROAD_KINDS[name] if name in ROAD_KINDS else _procedural_kind(k - len(ROAD_CLASSES), class_seed))
    return stack_kinds(kinds, num_classes)


def stack_kinds(class_kinds: list[list[Part]], num_classes: int) -> KindTable:
    """Stack ``class_kinds`` (the labelled classes) and all distractors into a :class:`KindTable`."""
    kinds = list(class_kinds) + list(DISTRACTOR_KINDS.values())
    n = len(kinds)
    exists = torch.zeros(n, MAX_PARTS, dtype=torch.bool)
    prim = torch.zeros(n, MAX_PARTS, dtype=torch.long)
    offset = torch.zeros(n, MAX_PARTS, 2)
    half = torch.ones(n, MAX_PARTS, 2)
    colour = torch.zeros(n, MAX_PARTS, 3)
    jitter = torch.zeros(n, MAX_PARTS)
    for k, parts in enumerate(kinds):
        for p, (pr, dx, dy, hw, hh, rgb, jit) in enumerate(parts):
            exists[k, p] = True
            prim[k, p] = pr
            offset[k, p] = torch.tensor([dx, dy])
            half[k, p] = torch.tensor([hw, hh])
            colour[k, p] = torch.tensor(rgb)
            jitter[k, p] = jit
    return KindTable(exists, prim, offset, half, colour, jitter, num_classes)


def primitive_mask(prim: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Inside-test of primitive ``prim[i]`` at normalised coordinates ``u, v`` of shape ``[n, h, w]``.

    ``u = (x - cx) / half_w`` and ``v = (y - cy) / half_h``; the shape fills ``[-1, 1]^2`` (y points down).
    """
    u, v = torch.broadcast_tensors(u, v)
    a, b = u.abs(), v.abs()
    r2 = u * u + v * v
    box = torch.maximum(a, b) <= 1
    inside = torch.stack(
        [
            box,
            r2 <= 1,
            (b <= 1) & (a <= (v + 1) / 2),
            a + b <= 1,
            box & (a + b <= 1.45),
            ((a <= 1) & (b <= 0.35)) | ((b <= 1) & (a <= 0.35)),
            (r2 <= 1) & (r2 >= 0.3),
        ],
        dim=1,
    )  # [n, 7, h, w]
    return inside.gather(1, prim.view(-1, 1, 1, 1).expand(-1, 1, *u.shape[1:])).squeeze(1)
