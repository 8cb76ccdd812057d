r"""Triangle meshes in, normalised surface point clouds out.

* :func:`read_mesh` reads VRML (``.wrl``/``.vrml``) with VTK's ``vtkVRMLImporter`` -- every actor's
  polygons, triangulated, with the actor's transform applied, merged into one triangle mesh -- and
  STL / OBJ / PLY / OFF with trimesh.
* :func:`check_mesh` refuses meshes that cannot be sampled: no faces, NaN/inf vertices, face indices
  out of range, zero total area.
* :func:`sample_surface` draws ``n`` area-weighted points (trimesh, seeded) and :func:`normalise` maps
  them to zero centroid and unit RMS radius,

  .. math:: \hat x_i = (x_i - \bar x) / \sqrt{\tfrac1n \textstyle\sum_j |x_j - \bar x|^2},

  which commutes with every rotation and reflection of the input (``normalise(x Qᵀ) = normalise(x) Qᵀ``
  for orthogonal ``Q``), so the symmetry of the classifier is not broken by preprocessing.

VTK and trimesh are optional dependencies (``pip install vtk trimesh``); they are imported on use.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["MeshError", "VRML_SUFFIXES", "TRIMESH_SUFFIXES", "check_mesh", "normalise", "read_mesh",
           "sample_surface", "mesh_to_cloud"]

VRML_SUFFIXES = (".wrl", ".vrml")
TRIMESH_SUFFIXES = (".stl", ".obj", ".ply", ".off")


class MeshError(ValueError):
    """A mesh file cannot be read or sampled; the message names the file and the problem."""


def check_mesh(vertices: np.ndarray, faces: np.ndarray, name: str = "mesh") -> tuple[np.ndarray, np.ndarray]:
    """Validate a triangle mesh and return it as ``(float64 (V, 3), int64 (F, 3))``.

    >>> v = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]])
    >>> check_mesh(v, np.array([[0, 1, 2]]))[1].shape
    (1, 3)
    >>> try:
    ...     check_mesh(v, np.zeros((0, 3), int))
    ... except MeshError as err:
    ...     print(err)
    mesh: the mesh has no faces
    """
    vertices, faces = np.asarray(vertices), np.asarray(faces)
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise MeshError(f"{name}: vertices must have shape (V, 3), got {vertices.shape}")
    if faces.size == 0:
        raise MeshError(f"{name}: the mesh has no faces")
    if faces.ndim != 2 or faces.shape[1] != 3 or not np.issubdtype(faces.dtype, np.integer):
        raise MeshError(f"{name}: faces must be integer triangles of shape (F, 3), got {faces.shape} "
                        f"{faces.dtype}")
    vertices, faces = vertices.astype(np.float64), faces.astype(np.int64)
    if not np.isfinite(vertices).all():
        raise MeshError(f"{name}: {int((~np.isfinite(vertices)).any(1).sum())} vertices are NaN or infinite")
    if faces.min() < 0 or faces.max() >= len(vertices):
        raise MeshError(f"{name}: face indices must lie in [0, {len(vertices)}), got "
                        f"[{faces.min()}, {faces.max()}]")
    if not triangle_areas(vertices, faces).sum() > 0:
        raise MeshError(f"{name}: the mesh is degenerate (total surface area 0)")
    return vertices, faces


def triangle_areas(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """``|(b - a) × (c - a)| / 2`` per triangle.

    >>> float(triangle_areas(np.array([[0.0, 0, 0], [2, 0, 0], [0, 1, 0]]), np.array([[0, 1, 2]]))[0])
    1.0
    """
    a, b, c = (vertices[faces[:, k]] for k in range(3))
    return 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=-1)


def _read_vrml(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import vtk
    from vtk.util.numpy_support import vtk_to_numpy

    vtk.vtkObject.GlobalWarningDisplayOff()
    vtk.vtkLogger.SetStderrVerbosity(vtk.vtkLogger.VERBOSITY_OFF)
    window = vtk.vtkRenderWindow()
    window.SetOffScreenRendering(1)
    importer = vtk.vtkVRMLImporter()
    importer.SetFileName(str(path))
    importer.SetRenderWindow(window)
    importer.Update()
    actors = importer.GetRenderer().GetActors()
    actors.InitTraversal()
    merged = vtk.vtkAppendPolyData()
    for _ in range(actors.GetNumberOfItems()):
        actor = actors.GetNextActor()
        mapper = actor.GetMapper()
        polydata = None if mapper is None else mapper.GetInput()
        if polydata is None or polydata.GetNumberOfPolys() == 0:
            continue
        transform = vtk.vtkTransform()
        transform.SetMatrix(actor.GetMatrix())
        moved = vtk.vtkTransformFilter()
        moved.SetTransform(transform)
        moved.SetInputData(polydata)
        triangles = vtk.vtkTriangleFilter()
        triangles.SetInputConnection(moved.GetOutputPort())
        triangles.Update()
        merged.AddInputData(triangles.GetOutput())
    if merged.GetNumberOfInputConnections(0) == 0:
        return np.zeros((0, 3)), np.zeros((0, 3), np.int64)
    merged.Update()
    out = merged.GetOutput()
    vertices = vtk_to_numpy(out.GetPoints().GetData()).astype(np.float64)
    faces = vtk_to_numpy(out.GetPolys().GetConnectivityArray()).astype(np.int64).reshape(-1, 3)
    return vertices, faces


def _read_trimesh(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import trimesh

    try:
        mesh = trimesh.load(path, force="mesh", process=False)
    except Exception as err:  # trimesh raises many types for unreadable files
        raise MeshError(f"{path}: trimesh cannot read it ({type(err).__name__}: {err})") from None
    return np.asarray(mesh.vertices), np.asarray(mesh.faces)


def read_mesh(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read a triangle mesh ``(vertices (V, 3) float64, faces (F, 3) int64)`` and :func:`check_mesh` it.

    VRML goes through VTK (every shape of the scene with its transform); ``.stl/.obj/.ply/.off``
    through trimesh.
    """
    path = Path(path)
    if not path.is_file():
        raise MeshError(f"{path}: no such mesh file")
    suffix = path.suffix.lower()
    if suffix in VRML_SUFFIXES:
        vertices, faces = _read_vrml(path)
    elif suffix in TRIMESH_SUFFIXES:
        vertices, faces = _read_trimesh(path)
    else:
        raise MeshError(f"{path}: unknown mesh format {suffix!r}; expected one of "
                        f"{', '.join(VRML_SUFFIXES + TRIMESH_SUFFIXES)}")
    return check_mesh(vertices, faces, str(path))


def sample_surface(vertices: np.ndarray, faces: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` points drawn uniformly by area on the surface (trimesh, seeded), ``(n, 3)`` float64.

    >>> v = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]])
    >>> sample_surface(v, np.array([[0, 1, 2]]), 5, seed=0).shape
    (5, 3)
    """
    import trimesh

    vertices, faces = check_mesh(vertices, faces)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"sample_surface: n must be a positive int, got {n!r}")
    mesh = trimesh.Trimesh(vertices=vertices, faces=faces, process=False)
    points, _ = trimesh.sample.sample_surface(mesh, int(n), seed=seed)
    return np.asarray(points, dtype=np.float64)


def normalise(points: np.ndarray) -> np.ndarray:
    """Centre on the centroid and scale to unit RMS radius (O(3)-equivariant, see module docstring).

    >>> x = normalise(np.array([[1.0, 0, 0], [3, 0, 0]]))
    >>> x.tolist()
    [[-1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3 or len(points) < 2:
        raise ValueError(f"normalise: points must have shape (n >= 2, 3), got {points.shape}")
    if not np.isfinite(points).all():
        raise ValueError("normalise: points contain NaN or infinite values")
    centred = points - points.mean(axis=0)
    radius = np.sqrt(np.mean(np.sum(centred**2, axis=1)))
    if not radius > 0:
        raise ValueError("normalise: all points coincide (zero radius)")
    return centred / radius


def mesh_to_cloud(vertices: np.ndarray, faces: np.ndarray, n: int, seed: int) -> np.ndarray:
    """:func:`sample_surface` then :func:`normalise`: the model's input for one mesh, ``(n, 3)``."""
    return normalise(sample_surface(vertices, faces, n, seed))
