"""``python -m mtlkit.report DIR...`` is ``mtlkit-report DIR...``."""

from mtlkit.report.command import run

run()
