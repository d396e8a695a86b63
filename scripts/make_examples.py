"""Write the small example files under examples/ that the README's "Bring your own data" commands use.

    python scripts/make_examples.py            # rewrites examples/table/ and examples/images/

- ``examples/table/patients.csv``: 400 rows of made-up tabular data (6 numeric features, a text column ``site``,
  an ``id`` column) and three tasks ``a, b, c`` that depend on the features, written with every accepted cell form
  (1/0, yes/no, TRUE/false, blank, ?, -1); no split column, so mtlkit splits it by stratified fractions.
- ``examples/images/labels.csv`` + ``examples/images/img/*.png``: 160 road scenes (32 x 32) from the
  ``data=driving`` generator, with a ``split`` column and a third of the labels unknown.

The output is deterministic: rerunning the script gives the same files.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]

POS_FORMS = ["1", "1", "1", "yes", "TRUE", "1.0"]
NEG_FORMS = ["0", "0", "0", "no", "false", "0.0"]
UNKNOWN_FORMS = ["", "", "?"]


def _cell(value: int, rng: np.random.Generator, p_unknown: float, p_uncertain: float = 0.0) -> str:
    u = rng.random()
    if u < p_unknown:
        return str(rng.choice(UNKNOWN_FORMS))
    if u < p_unknown + p_uncertain:
        return "-1"
    return str(rng.choice(POS_FORMS if value else NEG_FORMS))


def make_table(out: Path, n: int = 400, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6))
    site = rng.choice(["north", "south", "east"], size=n)
    shift = {"north": 0.0, "south": 1.0, "east": -1.0}
    logits = {
        "a": 2.0 * x[:, 0] + 1.5 * x[:, 1],
        "b": 1.5 * x[:, 2] - 1.5 * x[:, 3] + 1.5 * np.array([shift[s] for s in site]),
        "c": 2.0 * x[:, 4] * np.sign(x[:, 5]) + 0.5 * x[:, 0],
    }
    labels = {k: (rng.random(n) < 1 / (1 + np.exp(-v))).astype(int) for k, v in logits.items()}
    out.mkdir(parents=True, exist_ok=True)
    path = out / "patients.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", *[f"x{i + 1}" for i in range(6)], "site", "a", "b", "c"])
        for i in range(n):
            cells = [_cell(labels["a"][i], rng, 0.2), _cell(labels["b"][i], rng, 0.4)]
            cells.append(_cell(labels["c"][i], rng, 0.2, p_uncertain=0.1))
            w.writerow([f"p{i:04d}", *[f"{v:.3f}" for v in x[i]], site[i], *cells])
    return path


def make_images(out: Path, n: int = 160, seed: int = 0) -> Path:
    from mtlkit.data.synthetic.scenes import SceneSpec, generate_scenes
    from mtlkit.data.synthetic.shapes import class_names

    scenes = generate_scenes(SceneSpec(num_images=n, seed=seed, image_size=32, grid=2, noise=0.03))
    tasks = class_names(4)
    rng = np.random.default_rng(seed)
    (out / "img").mkdir(parents=True, exist_ok=True)
    for old in (out / "img").glob("*.png"):
        old.unlink()
    splits = ["train"] * int(0.7 * n) + ["val"] * int(0.15 * n)
    splits += ["test"] * (n - len(splits))
    path = out / "labels.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "split", *tasks])
        for i in range(n):
            name = f"img/scene_{i:03d}.png"
            Image.fromarray(scenes.images[i].permute(1, 2, 0).numpy()).save(out / name, optimize=True)
            p_unknown = 1 / 3 if splits[i] == "train" else 0.0
            w.writerow([name, splits[i], *[_cell(int(v), rng, p_unknown) for v in scenes.labels[i]]])
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "examples")
    args = parser.parse_args()
    for path in (make_table(args.out / "table"), make_images(args.out / "images")):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
