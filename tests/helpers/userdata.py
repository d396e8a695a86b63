"""Helpers that write small user files (CSV, Parquet, PNG folders) for the data=table / data=images tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

TASKS = ["a", "b", "c"]


def write_table(path: Path, n: int = 120, seed: int = 0, **extra_columns) -> pd.DataFrame:
    """A learnable table: features x1..x4, a text column ``site``, labels a, b, c with blanks and '?'."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(n)], **{f"x{j + 1}": x[:, j] for j in range(4)}})
    frame["site"] = rng.choice(["north", "south"], size=n)
    for j, t in enumerate(TASKS):
        y = np.where(x[:, j] > 0, "1", "0").astype(object)
        y[rng.random(n) < 0.3] = rng.choice(["", "?"])
        frame[t] = y
    for k, v in extra_columns.items():
        frame[k] = v
    if path.suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False)
    return frame


def write_image_set(root: Path, n: int = 48, size: int = 12, split: bool = False, seed: int = 0) -> Path:
    """PNG images whose tasks are visible: ``red`` = a red square, ``blue`` = a blue square, ``bright`` =
    a bright background; ``labels.csv`` lists them (relative paths under ``img/``)."""
    rng = np.random.default_rng(seed)
    (root / "img").mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        red, blue, bright = (int(v) for v in rng.random(3) < 0.5)
        a = np.full((size, size, 3), 200 if bright else 40, dtype=np.uint8)
        if red:
            a[1:5, 1:5] = (255, 0, 0)
        if blue:
            a[-5:-1, -5:-1] = (0, 0, 255)
        name = f"img/{i:03d}.png"
        Image.fromarray(a).save(root / name)
        cells = [str(v) for v in (red, blue, bright)]
        if i % 5 == 1:
            cells[i % 3] = "?"
        row = {"path": name, "red": cells[0], "blue": cells[1], "bright": cells[2]}
        if split:
            row["split"] = "train" if i % 4 else ("val" if i % 8 == 0 else "test")
        rows.append(row)
    path = root / "labels.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path
