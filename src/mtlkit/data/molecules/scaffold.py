"""Bemis-Murcko scaffolds of molecules (RDKit's ``MurckoScaffold``): the groups of ``data.split=scaffold``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mtlkit.data.molecules.rdkit_import import import_chem


def murcko_scaffolds(mols: Sequence[Any]) -> list[str]:
    """The scaffold SMILES of each molecule (without stereochemistry); ``""`` for a molecule without a ring."""
    import_chem()
    from rdkit.Chem.Scaffolds import MurckoScaffold

    return [MurckoScaffold.MurckoScaffoldSmiles(mol=mol, includeChirality=False) for mol in mols]
