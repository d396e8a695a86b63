"""``python -m mtlkit.report DIR...`` is ``mtlkit-report DIR...``."""

from mtlkit.report.cli import run

run()
