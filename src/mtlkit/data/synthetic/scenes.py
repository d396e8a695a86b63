"""Vectorised, seeded generator of synthetic road scenes with multi-label object annotations.

Each image is a road-like background (sky, road with lane marks, verges, random lighting) divided into a
``grid x grid`` lattice of cells. Every labelled object and every distractor occupies its own cell, at a
random size and position inside it, so objects never overlap: label ``j`` is 1 if and only if an object of
class ``j`` is drawn. Rendering loops over cells and parts only; all images are drawn at once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from mtlkit.data.synthetic.families import build_family_table, check_relatedness
from mtlkit.data.synthetic.shapes import MAX_CLASSES, MAX_PARTS, KindTable, build_kind_table, primitive_mask
from mtlkit.errors import ConfigError

GENERATOR_VERSION = 1  # bump when the images a config produces change


@dataclass(frozen=True)
class SceneSpec:
    """Everything that determines a generated set; two equal specs give identical images and labels."""

    num_images: int
    image_size: int = 32
    num_classes: int = 4
    grid: int = 3
    prevalence: float = 0.4
    max_objects: int | None = None
    distractor_rate: float = 0.25
    noise: float = 0.06
    min_scale: float = 0.65
    class_seed: int = 0
    seed: int = 0
    relatedness: float | None = None  # None: road objects; in [0, 1]: part-sharing task families (families.py)

    def __post_init__(self) -> None:
        if self.num_images < 1:
            raise ConfigError(f"split sizes (data.num_train / num_val / num_test) must be >= 1, got {self.num_images}")
        if self.image_size < 8:
            raise ConfigError(f"data.image_size must be >= 8, got {self.image_size}")
        if self.grid < 1 or self.image_size // self.grid < 4:
            raise ConfigError(f"data.grid={self.grid} leaves cells under 4 px for image_size={self.image_size}")
        if not 0.0 <= self.prevalence <= 1.0:
            raise ConfigError(f"data.prevalence must be in [0, 1], got {self.prevalence}")
        if not 0.0 <= self.distractor_rate <= 1.0:
            raise ConfigError(f"data.distractor_rate must be in [0, 1], got {self.distractor_rate}")
        if self.max_objects is not None and not 0 <= self.max_objects <= self.grid**2:
            raise ConfigError(f"data.max_objects must be in [0, grid**2={self.grid**2}], got {self.max_objects}")
        if self.relatedness is not None:  # as a float, so that 1 and 1.0 share one cache key
            object.__setattr__(self, "relatedness", check_relatedness(self.relatedness, self.num_classes))
        elif not 1 <= self.num_classes <= MAX_CLASSES:
            raise ConfigError(f"data.num_classes must be in [1, {MAX_CLASSES}], got {self.num_classes}")

    def key(self) -> dict:
        """What the data cache is keyed by; without relatedness (None) it is the key of generator version 1."""
        params = asdict(self)
        if params["relatedness"] is None:
            del params["relatedness"]
        return {"version": GENERATOR_VERSION, **params}


@dataclass
class Scenes:
    images: torch.Tensor  # uint8 [N, 3, H, W]
    labels: torch.Tensor  # uint8 [N, C], 1 = class present
    owner: torch.Tensor | None = None  # int16 [N, H, W]: kind drawn at each pixel, -1 for background


CHUNK = 2048


def generate_scenes(spec: SceneSpec, return_owner: bool = False) -> Scenes:
    """Generate ``spec.num_images`` scenes, chunk by chunk; chunk ``c`` depends only on ``(spec.seed, c)``."""
    if spec.relatedness is None:
        table = build_kind_table(spec.num_classes, spec.class_seed)
    else:
        table = build_family_table(spec.num_classes, spec.relatedness, spec.class_seed)
    images, labels, owners = [], [], []
    for c, start in enumerate(range(0, spec.num_images, CHUNK)):
        n = min(CHUNK, spec.num_images - start)
        gen = torch.Generator().manual_seed(spec.seed * 1_000_003 + c)
        img, lab, own = _render_chunk(spec, table, n, gen)
        images.append(img)
        labels.append(lab)
        if return_owner:
            owners.append(own)
    return Scenes(torch.cat(images), torch.cat(labels), torch.cat(owners) if return_owner else None)


def _sample_layout(
    spec: SceneSpec, table: KindTable, n: int, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Which kind fills each cell (``-1`` empty) and the resulting labels."""
    cells = spec.grid**2
    max_obj = cells if spec.max_objects is None else spec.max_objects
    nc = table.num_classes
    present = torch.rand(n, nc, generator=gen) < spec.prevalence
    # Keep at most max_obj classes per image, chosen at random among those present.
    order = torch.rand(n, nc, generator=gen).masked_fill(~present, 2.0).argsort(dim=1)
    keep_rank = torch.arange(nc).expand(n, nc) < min(max_obj, nc)
    keep = torch.zeros_like(present).scatter(1, order, keep_rank) & present
    labels = keep.to(torch.uint8)

    content = torch.full((n, cells), -1, dtype=torch.long)
    cell_order = torch.rand(n, cells, generator=gen).argsort(dim=1)  # random cell for each rank
    cls_sorted = torch.where(keep, torch.arange(nc).expand(n, nc), nc + cells)  # absent classes sort last
    cls_sorted = cls_sorted.sort(dim=1).values[:, : min(nc, cells)]
    counts = keep.sum(1)
    for r in range(min(nc, cells)):
        has = counts > r
        content[has, cell_order[has, r]] = cls_sorted[has, r]
    # Distractors in the free cells.
    free = content < 0
    put = free & (torch.rand(n, cells, generator=gen) < spec.distractor_rate)
    dkind = nc + torch.randint(table.num_distractors, (n, cells), generator=gen)
    content = torch.where(put, dkind, content)
    return content, labels


def _background(spec: SceneSpec, n: int, gen: torch.Generator) -> torch.Tensor:
    s = spec.image_size
    y = (torch.arange(s) + 0.5).view(1, s, 1) / s
    x = (torch.arange(s) + 0.5).view(1, 1, s) / s
    horizon = 0.3 + 0.2 * torch.rand(n, 1, 1, generator=gen)
    sky = torch.tensor([0.45, 0.65, 0.9]).view(1, 3, 1, 1) + 0.15 * (torch.rand(n, 3, 1, 1, generator=gen) - 0.5)
    sky = sky * (0.8 + 0.4 * y.unsqueeze(1))  # brighter towards the horizon
    road_c = 0.3 + 0.15 * torch.rand(n, 1, 1, 1, generator=gen)
    verge = torch.tensor([0.3, 0.45, 0.2]).view(1, 3, 1, 1) + 0.15 * (torch.rand(n, 3, 1, 1, generator=gen) - 0.5)
    depth = ((y - horizon) / (1 - horizon)).clamp(min=0)  # 0 at horizon, 1 at bottom
    centre = 0.5 + 0.15 * (torch.rand(n, 1, 1, generator=gen) - 0.5)
    on_road = (x - centre).abs() <= 0.05 + 0.5 * depth
    lane = ((x - centre).abs() <= 0.02 + 0.02 * depth) & (torch.frac(y * 5 + torch.rand(n, 1, 1, generator=gen)) < 0.5)
    ground = torch.where(on_road.unsqueeze(1), road_c.expand(n, 3, 1, 1), verge)
    ground = torch.where((lane & on_road).unsqueeze(1), torch.tensor(0.9), ground)
    below = (y > horizon).unsqueeze(1)
    return torch.where(below, ground, sky).expand(n, 3, s, s).contiguous()


def _render_chunk(
    spec: SceneSpec, table: KindTable, n: int, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    s, g = spec.image_size, spec.grid
    content, labels = _sample_layout(spec, table, n, gen)
    img = _background(spec, n, gen)
    owner = torch.full((n, s, s), -1, dtype=torch.int16)
    bounds = [round(i * s / g) for i in range(g + 1)]
    for q in range(g * g):
        r, c = divmod(q, g)
        y0, y1, x0, x1 = bounds[r], bounds[r + 1], bounds[c], bounds[c + 1]
        kind = content[:, q]
        idx = (kind >= 0).nonzero().squeeze(1)
        if idx.numel() == 0:
            continue
        k = kind[idx]
        m = idx.numel()
        cell = min(y1 - y0, x1 - x0)
        size = cell * (spec.min_scale + (1 - spec.min_scale) * torch.rand(m, generator=gen))
        cx = x0 + size / 2 + (x1 - x0 - size) * torch.rand(m, generator=gen)
        cy = y0 + size / 2 + (y1 - y0 - size) * torch.rand(m, generator=gen)
        shift = 2 * torch.rand(m, 1, 3, generator=gen) - 1  # one colour shift per object, all parts
        colours = (table.colour[k] + table.jitter[k].unsqueeze(-1) * shift).clamp(0, 1)  # [m, P, 3]
        yy = (torch.arange(y0, y1) + 0.5).view(1, -1, 1)
        xx = (torch.arange(x0, x1) + 0.5).view(1, 1, -1)
        patch = img[idx, :, y0:y1, x0:x1]
        own = owner[idx, y0:y1, x0:x1]
        for p in range(MAX_PARTS):
            ex = table.exists[k, p]
            if not bool(ex.any()):
                continue
            sub = ex.nonzero().squeeze(1)
            kk = k[sub]
            pcx = cx[sub] + table.offset[kk, p, 0] * size[sub]
            pcy = cy[sub] + table.offset[kk, p, 1] * size[sub]
            u = (xx - pcx.view(-1, 1, 1)) / (table.half[kk, p, 0] * size[sub]).view(-1, 1, 1)
            v = (yy - pcy.view(-1, 1, 1)) / (table.half[kk, p, 1] * size[sub]).view(-1, 1, 1)
            inside = primitive_mask(table.prim[kk, p], u, v)  # [ms, h, w]
            col = colours[sub, p].view(-1, 3, 1, 1)
            patch[sub] = torch.where(inside.unsqueeze(1), col, patch[sub])
            own[sub] = torch.where(inside, kk.view(-1, 1, 1).to(torch.int16), own[sub])
        img[idx, :, y0:y1, x0:x1] = patch
        owner[idx, y0:y1, x0:x1] = own
    light = 0.75 + 0.4 * torch.rand(n, 1, 1, 1, generator=gen)
    img = img * light + spec.noise * torch.randn(img.shape, generator=gen)
    img = (img.clamp(0, 1) * 255).round().to(torch.uint8)
    return img, labels, owner
