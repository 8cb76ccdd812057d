"""Doctests of this package need the chemistry extras (``make install-chem``); skip them without."""

import importlib.util

MISSING = [name for name in ("ase", "rdkit", "vesin") if importlib.util.find_spec(name) is None]
collect_ignore_glob = ["*.py"] if MISSING else []
