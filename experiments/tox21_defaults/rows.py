"""The CSV rows search.py and final.py keep: one row per run, appended as each run ends."""

from __future__ import annotations

import csv
from pathlib import Path


def read_rows(path: Path) -> list[dict]:
    """The rows written so far (none when the file does not exist yet)."""
    if not path.exists():
        return []
    with path.open() as f:
        return list(csv.DictReader(f))


def append_row(path: Path, fields: list[str], row: dict) -> None:
    """Add one row, with the header first when the file is new."""
    new = not path.exists()
    with path.open("a", newline="") as f:
        w = csv.DictWriter(f, fields)
        if new:
            w.writeheader()
        w.writerow(row)
