"""Doctest collection: the examples of ``meshes.py`` and ``data.py`` sample meshes with trimesh (an
optional dependency, ``pip install lie_nn[shapes]``); without it they are skipped."""

import importlib.util

collect_ignore = [] if importlib.util.find_spec("trimesh") else ["meshes.py", "data.py"]
