"""Loaded at start-up by every Python subprocess of the tests (PYTHONPATH, set by tests/conftest.py): see
torchvision_ops.py beside this file. Test environment only."""

import torchvision_ops

torchvision_ops.install()
