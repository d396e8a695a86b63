"""Data generators: synthetic road scenes (``scenes``), the object kinds drawn in them (``shapes``) and the task
families of ``data.relatedness`` (``families``)."""

from mtlkit.data.synthetic.families import (
    MAX_FAMILY_CLASSES,
    FamilyDesign,
    build_family_table,
    check_relatedness,
    family_class_names,
    family_design,
)
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
    "MAX_FAMILY_CLASSES",
    "MAX_PARTS",
    "PRIMITIVES",
    "ROAD_CLASSES",
    "FamilyDesign",
    "KindTable",
    "SceneSpec",
    "Scenes",
    "build_family_table",
    "build_kind_table",
    "check_relatedness",
    "class_names",
    "family_class_names",
    "family_design",
    "generate_scenes",
    "primitive_mask",
]
