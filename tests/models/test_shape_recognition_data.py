"""Shape recognition data: mesh checks, sampling, normalisation, family split, files, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("trimesh")

from models.common.io import DataError  # noqa: E402
from models.shape_recognition import kicad  # noqa: E402
from models.shape_recognition.data import (  # noqa: E402
    SYNTHETIC_CLASSES,
    load_shapes,
    main,
    synthetic_mesh,
    synthetic_shapes,
)
from models.shape_recognition.meshes import MeshError, check_mesh, mesh_to_cloud, normalise, read_mesh  # noqa: E402

TRIANGLE = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]])


def test_sampling_is_seeded_on_the_surface_and_normalised() -> None:
    import trimesh

    v, f = synthetic_mesh("box", np.random.default_rng(0))
    a, b = mesh_to_cloud(v, f, 200, seed=3), mesh_to_cloud(v, f, 200, seed=3)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, mesh_to_cloud(v, f, 200, seed=4))
    np.testing.assert_allclose(a.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(np.sqrt((a**2).sum(axis=1).mean()), 1.0)
    raw = trimesh.sample.sample_surface(trimesh.Trimesh(v, f), 200, seed=3)[0]
    half = np.abs(v).max(axis=0)  # the box is centred at the origin
    np.testing.assert_allclose(np.abs(raw / half).max(axis=1), 1.0, atol=1e-12)  # on a face


def test_normalise_commutes_with_orthogonal_maps() -> None:
    x = np.random.default_rng(0).normal(size=(50, 3)) + 4.0
    q, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(3, 3)))
    np.testing.assert_allclose(normalise(x @ q.T), normalise(x) @ q.T, atol=1e-12)


def test_synthetic_set_classes_and_split() -> None:
    s = synthetic_shapes(3, 32, seed=1)
    assert s.points.shape == (18, 32, 3) and s.classes == SYNTHETIC_CLASSES
    for k in range(len(SYNTHETIC_CLASSES)):
        assert 0 < s.is_test[s.labels == k].sum() < 3
    same = synthetic_shapes(3, 32, seed=1)
    np.testing.assert_array_equal(same.points, s.points)


def test_bad_meshes_get_clear_errors(tmp_path) -> None:
    with pytest.raises(MeshError, match="no faces"):
        check_mesh(TRIANGLE, np.zeros((0, 3), dtype=int))
    with pytest.raises(MeshError, match="NaN or infinite"):
        check_mesh(np.where(np.eye(3, dtype=bool), np.nan, TRIANGLE), np.array([[0, 1, 2]]))
    with pytest.raises(MeshError, match="degenerate"):
        check_mesh(np.array([[0.0, 0, 0], [1, 1, 1], [2, 2, 2]]), np.array([[0, 1, 2]]))
    with pytest.raises(MeshError, match="face indices"):
        check_mesh(TRIANGLE, np.array([[0, 1, 3]]))
    with pytest.raises(MeshError, match="no such mesh file"):
        read_mesh(tmp_path / "missing.stl")
    (tmp_path / "part.step").write_text("x")
    with pytest.raises(MeshError, match="unknown mesh format"):
        read_mesh(tmp_path / "part.step")
    (tmp_path / "empty.obj").write_text("v 0 0 0\nv 1 0 0\n")
    with pytest.raises(MeshError, match="no faces|cannot read"):
        read_mesh(tmp_path / "empty.obj")


def test_vrml_scene_with_transform_is_merged(tmp_path) -> None:
    pytest.importorskip("vtk")
    shape = ("Shape { geometry IndexedFaceSet { coord Coordinate { point [0 0 0, 1 0 0, 1 1 0, 0 1 0] } "
             "coordIndex [0, 1, 2, 3, -1] } }")
    text = f"#VRML V2.0 utf8\n{shape}\nTransform {{ translation 0 0 5 children [ {shape} ] }}\n"
    (tmp_path / "two.wrl").write_text(text)
    vertices, faces = read_mesh(tmp_path / "two.wrl")
    assert faces.shape == (4, 3)  # two quads, triangulated
    assert sorted(set(np.round(vertices[:, 2], 6))) == [0.0, 5.0]  # the transform is applied
    (tmp_path / "points.wrl").write_text("#VRML V2.0 utf8\nShape { geometry PointSet { coord Coordinate "
                                         "{ point [0 0 0, 1 0 0] } } }\n")
    with pytest.raises(MeshError, match="no faces"):
        read_mesh(tmp_path / "points.wrl")


def test_family_split_keeps_variants_together() -> None:
    names = ["DIP-8_W7.62mm", "DIP-8_W7.62mm_Socket", "DIP-8_W7.62mm_LongPads", "DIP-14_W7.62mm",
             "DIP-16_W7.62mm", "DIP-18_W7.62mm"]
    families = [kicad.family_of(n) for n in names]
    assert len(set(families[:3])) == 1 and len(set(families)) == 4
    is_test = kicad.split_by_family(families, np.zeros(6, int), 0.3, seed=0)
    assert is_test[:3].all() or not is_test[:3].any()
    assert 0 < is_test.sum() < 6
    keep = kicad.cap_per_class(families, np.zeros(6, int), 4, seed=0)
    assert len(keep) <= 4 and (set(keep) >= {0, 1, 2} or not set(keep) & {0, 1, 2})


def test_files_roundtrip_and_corruption(tmp_path, capsys) -> None:
    out = tmp_path / "shapes"
    main(["generate", "--synthetic", "2", "--points", "16", "--out", str(out), "--seed", "5"])
    s = load_shapes(out)
    assert s.points.shape == (12, 16, 3) and s.points.dtype == np.float32
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seeds"] == {"seed": 5} and manifest["split"]["per_class"]["torus"]["test"] >= 1
    data = bytearray((out / "points.npz").read_bytes())
    data[-40] ^= 0xFF
    (out / "points.npz").write_bytes(bytes(data))
    with pytest.raises(DataError, match="corrupt.*make shapes-data"):
        load_shapes(out)
    with pytest.raises(DataError, match="manifest.json not found"):
        load_shapes(tmp_path / "nothing")
