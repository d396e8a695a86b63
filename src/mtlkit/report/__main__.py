"""``python -m mtlkit.report DIR...`` is ``mtlkit-report DIR...``."""

from mtlkit.cli.report import run

run()
