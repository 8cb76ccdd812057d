"""Doctests of this package need gemmi (the ``protein-io`` extra, in ``dev``); skip them without."""

import importlib.util

collect_ignore_glob = ["*.py"] if importlib.util.find_spec("gemmi") is None else []
