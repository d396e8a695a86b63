"""``mtlkit-report DIR...``: the console script; the command itself is :mod:`mtlkit.report.command` (also
``python -m mtlkit.report``)."""

from __future__ import annotations

from mtlkit.report.command import main, run

__all__ = ["main", "run"]

if __name__ == "__main__":
    run()
