"""Molecules for ``data=molecules`` (and ``data=tox21|toxcast``): RDKit featurisers, Bemis-Murcko scaffolds and the
checked download of a benchmark file. RDKit is optional (``pip install -e ".[chem]"``) and imported lazily."""

from mtlkit.data.molecules.download import OFFLINE_ENV, ensure_file, offline
from mtlkit.data.molecules.featurize import (
    FEATURE_KINDS,
    FeaturizerSettings,
    descriptor_names,
    descriptors,
    fingerprints,
    parse_smiles,
)
from mtlkit.data.molecules.rdkit_import import INSTALL_HINT, import_chem, rdkit_version, require_rdkit
from mtlkit.data.molecules.scaffold import murcko_scaffolds

__all__ = [
    "FEATURE_KINDS",
    "INSTALL_HINT",
    "OFFLINE_ENV",
    "FeaturizerSettings",
    "descriptor_names",
    "descriptors",
    "ensure_file",
    "fingerprints",
    "import_chem",
    "murcko_scaffolds",
    "offline",
    "parse_smiles",
    "rdkit_version",
    "require_rdkit",
]
