"""Data generators: synthetic road scenes (``scenes``) and the object kinds drawn in them (``shapes``)."""

from mtlkit.data.synthetic.scenes import CHUNK, GENERATOR_VERSION, Scenes, SceneSpec, generate_scenes
from mtlkit.data.synthetic.shapes import (
    MAX_CLASSES,
    MAX_PARTS,
    PRIMITIVES,
    ROAD_CLASSES,
    KindTable,
    build_kind_table,
    class_names,
    primitive_mask,
)

__all__ = [
    "CHUNK",
    "GENERATOR_VERSION",
    "MAX_CLASSES",
    "MAX_PARTS",
    "PRIMITIVES",
    "ROAD_CLASSES",
    "KindTable",
    "SceneSpec",
    "Scenes",
    "build_kind_table",
    "class_names",
    "generate_scenes",
    "primitive_mask",
]
