"""Molecules as fixed-length inputs: Morgan/ECFP fingerprints (bits or counts) and RDKit's 2D descriptors.

``data.features`` names one or more kinds joined by ``+`` (``ecfp``, ``ecfp_counts``, ``descriptors``, e.g.
``ecfp+descriptors``); fingerprints come first in the input, then descriptors. Descriptors are raw here: they are
standardised with the train rows' statistics by the data source (``data/files/preprocessing.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mtlkit.data.molecules.rdkit_import import import_chem
from mtlkit.errors import ConfigError

FINGERPRINTS = ("ecfp", "ecfp_counts")
DESCRIPTORS = "descriptors"
FEATURE_KINDS = (*FINGERPRINTS, DESCRIPTORS)
COUNT_CAP = 255  # fingerprint counts are kept as uint8: a substructure seen more often counts 255


@dataclass(frozen=True)
class FeaturizerSettings:
    """What turns a molecule into inputs: the kinds (``ecfp``, ``ecfp_counts``, ``descriptors``), and the Morgan
    radius (2 = ECFP4) and size in bits."""

    kinds: tuple[str, ...] = ("ecfp",)
    radius: int = 2
    fp_size: int = 2048

    @classmethod
    def parse(cls, features: str, radius: int, fp_size: int) -> FeaturizerSettings:
        """From ``data.features`` (``ecfp+descriptors``), ``data.ecfp_radius`` and ``data.ecfp_size``."""
        kinds = tuple(k.strip() for k in str(features).split("+") if k.strip())
        bad = [k for k in kinds if k not in FEATURE_KINDS]
        fps = [k for k in kinds if k in FINGERPRINTS]
        if not kinds or bad or len(set(kinds)) != len(kinds) or len(fps) > 1:
            raise ConfigError(
                f"data.features={features!r}: give one fingerprint and/or descriptors joined by '+', from "
                f"{list(FEATURE_KINDS)}, e.g. data.features=ecfp or data.features=ecfp_counts+descriptors"
            )
        if int(radius) < 0 or int(fp_size) < 1:
            raise ConfigError(f"data.ecfp_radius={radius} and data.ecfp_size={fp_size}: use a radius >= 0, a size >= 1")
        return cls(kinds, int(radius), int(fp_size))

    @property
    def fingerprint(self) -> str | None:
        return next((k for k in self.kinds if k in FINGERPRINTS), None)

    @property
    def descriptors(self) -> bool:
        return DESCRIPTORS in self.kinds

    def to_dict(self) -> dict[str, Any]:
        return {"features": "+".join(self.kinds), "radius": self.radius, "fp_size": self.fp_size}

    @classmethod
    def from_dict(cls, saved: dict[str, Any]) -> FeaturizerSettings:
        return cls.parse(saved["features"], saved["radius"], saved["fp_size"])


def parse_smiles(cells: Sequence[object]) -> list[Any]:
    """RDKit molecules of SMILES cells; None where a cell is blank or RDKit cannot parse it (RDKit stays silent)."""
    chem = import_chem()
    out = []
    for cell in cells:
        text = "" if cell is None or (isinstance(cell, float) and np.isnan(cell)) else str(cell).strip()
        out.append(chem.MolFromSmiles(text) if text else None)
    return out


def descriptor_names() -> list[str]:
    """The names of RDKit's 2D descriptors, in RDKit's order."""
    import_chem()
    from rdkit.Chem import Descriptors

    return [name for name, _ in Descriptors._descList]


def fingerprints(mols: Sequence[Any], settings: FeaturizerSettings) -> np.ndarray:
    """``[N, fp_size]`` uint8 Morgan fingerprints: 0/1 bits (``ecfp``) or counts capped at 255 (``ecfp_counts``)."""
    import_chem()
    from rdkit.Chem import rdFingerprintGenerator

    generator = rdFingerprintGenerator.GetMorganGenerator(radius=settings.radius, fpSize=settings.fp_size)
    out = np.zeros((len(mols), settings.fp_size), dtype=np.uint8)
    counts = settings.fingerprint == "ecfp_counts"
    for i, mol in enumerate(mols):
        if counts:
            out[i] = np.minimum(generator.GetCountFingerprintAsNumPy(mol), COUNT_CAP)
        else:
            out[i] = generator.GetFingerprintAsNumPy(mol)
    return out


def descriptors(mols: Sequence[Any], names: Sequence[str]) -> np.ndarray:
    """``[N, len(names)]`` float64 RDKit descriptors (NaN where RDKit fails on a molecule)."""
    import_chem()
    from rdkit.Chem import Descriptors

    functions = dict(Descriptors._descList)
    out = np.full((len(mols), len(names)), np.nan)
    for i, mol in enumerate(mols):
        for j, name in enumerate(names):
            try:
                out[i, j] = functions[name](mol)
            except Exception:  # noqa: BLE001 - RDKit raises on some molecules: a missing value, handled downstream
                pass
    return out
