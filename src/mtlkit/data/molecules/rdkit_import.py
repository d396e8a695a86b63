"""RDKit, the optional chemistry dependency (``pip install -e ".[chem]"``), imported with its log lines silenced."""

from __future__ import annotations

import importlib.util
from types import ModuleType

from mtlkit.errors import ConfigError

INSTALL_HINT = 'pip install -e ".[chem]" (or pip install rdkit)'


def require_rdkit(what: str = "data=molecules") -> None:
    """Fail in one line, before any work, when RDKit is not installed."""
    if importlib.util.find_spec("rdkit") is None:
        raise ConfigError(f"{what} reads SMILES with RDKit, which is not installed; install it with: {INSTALL_HINT}")


def import_chem() -> ModuleType:
    """``rdkit.Chem`` with RDKit's own log lines (parse errors, valence warnings) turned off."""
    require_rdkit()
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    return Chem


def rdkit_version() -> str:
    require_rdkit()
    import rdkit

    return str(rdkit.__version__)
