"""Configuration -> objects, in one place (:mod:`.builders`), also from a checkpoint's stored config."""

from mtlkit.build.builders import (
    build_backbone,
    build_datamodule,
    build_module,
    build_trainer,
    build_weighting,
    check_gradient_method_launch,
    instantiate_group,
    weighting_class,
)
from mtlkit.build.from_checkpoint import MODULE_CLASSES, module_from_checkpoint

__all__ = [
    "MODULE_CLASSES",
    "build_backbone",
    "build_datamodule",
    "build_module",
    "build_trainer",
    "build_weighting",
    "check_gradient_method_launch",
    "instantiate_group",
    "module_from_checkpoint",
    "weighting_class",
]
