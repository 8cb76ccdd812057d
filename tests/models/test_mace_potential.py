"""lie_nn MACE potential: symmetries, forces = -grad E, stress, ASE calculator, MD, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

ase = pytest.importorskip("ase")
pytest.importorskip("vesin")

from ase.calculators.fd import calculate_numerical_forces, calculate_numerical_stress  # noqa: E402
from ase.md.verlet import VelocityVerlet  # noqa: E402

from models.common.checkpoint import CheckpointError, save_state  # noqa: E402
from models.mace_potential.calculator import LieMACECalculator, load_model  # noqa: E402
from models.mace_potential.graphs import StructureError, atoms_graph, collate  # noqa: E402
from models.mace_potential.model import Graph, MACEConfig, MACEPotential  # noqa: E402
from models.mace_potential.train import export_model  # noqa: E402

CONFIG = MACEConfig(elements=(1, 6, 8), r_max=4.0, channels=4, max_ell=3, hidden_ell=2, correlation=3,
                    radial_hidden=(8,), avg_num_neighbors=4.0)


def ethanol() -> ase.Atoms:
    """Ethanol with slightly perturbed (generic, asymmetric) coordinates."""
    from ase.build import molecule

    atoms = molecule("CH3CH2OH")
    atoms.positions += np.random.default_rng(0).normal(scale=0.05, size=atoms.positions.shape)
    return atoms


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> str:
    torch.manual_seed(0)
    model = MACEPotential(CONFIG, e0=[-10.0, -40.0, -60.0], scale=0.7, shift=0.1, dtype=torch.float64)
    with torch.no_grad():  # non-trivial readouts (the last MLP is zero-mean at init anyway)
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    path = tmp_path_factory.mktemp("mace") / "model.pt"
    export_model(model, path, "float64")
    return str(path)


@pytest.fixture(scope="module")
def calc(model_file) -> LieMACECalculator:
    return LieMACECalculator(model_file, dtype="float64")


def energy_forces(calc, atoms):
    atoms = atoms.copy()
    atoms.calc = calc
    return atoms.get_potential_energy(), atoms.get_forces()


def random_orthogonal(seed: int, reflect: bool) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1
    return -q if reflect else q


def test_forces_are_minus_gradient(calc) -> None:
    atoms = ethanol()
    atoms.calc = calc
    numerical = calculate_numerical_forces(atoms, eps=1e-4)
    np.testing.assert_allclose(atoms.get_forces(), numerical, atol=1e-6)
    assert np.abs(atoms.get_forces()).max() > 1e-3  # not a constant model


@pytest.mark.parametrize("reflect", [False, True])
def test_invariance_and_equivariance(calc, reflect: bool) -> None:
    atoms = ethanol()
    energy, forces = energy_forces(calc, atoms)
    q = random_orthogonal(1, reflect)
    moved = atoms.copy()
    moved.positions = atoms.positions @ q.T + np.array([1.5, -2.0, 0.7])
    e2, f2 = energy_forces(calc, moved)
    assert abs(e2 - energy) < 1e-10
    np.testing.assert_allclose(f2, forces @ q.T, atol=1e-10)
    perm = np.random.default_rng(2).permutation(len(atoms))
    e3, f3 = energy_forces(calc, atoms[perm])
    assert abs(e3 - energy) < 1e-10
    np.testing.assert_allclose(f3, forces[perm], atol=1e-10)


def test_float32_matches_float64(model_file) -> None:
    atoms = ethanol()
    e64, f64 = energy_forces(LieMACECalculator(model_file, dtype="float64"), atoms)
    e32, f32 = energy_forces(LieMACECalculator(model_file, dtype="float32"), atoms)
    assert abs(e32 - e64) < 1e-3
    np.testing.assert_allclose(f32, f64, atol=1e-4)


def test_batch_equals_single_structures(model_file) -> None:
    model = load_model(model_file)
    a, b = ethanol(), ethanol()
    b.positions += 0.1
    single = [model(atoms_graph(x, CONFIG)) for x in (a, b)]
    both = model(collate([atoms_graph(a, CONFIG), atoms_graph(b, CONFIG)]))
    torch.testing.assert_close(both["energy"], torch.cat([s["energy"] for s in single]))
    torch.testing.assert_close(both["forces"], torch.cat([s["forces"] for s in single]))


def periodic_box() -> ase.Atoms:
    rng = np.random.default_rng(3)
    cell = np.array([[4.2, 0.0, 0.0], [0.3, 3.9, 0.0], [-0.2, 0.4, 4.4]])
    frac = np.array([[0.1, 0.1, 0.1], [0.35, 0.2, 0.15], [0.6, 0.55, 0.5], [0.2, 0.7, 0.8], [0.8, 0.3, 0.6]])
    frac += rng.normal(scale=0.02, size=frac.shape)
    return ase.Atoms("CH2OH", scaled_positions=frac, cell=cell, pbc=True)


def test_periodic_stress_and_forces(calc) -> None:
    atoms = periodic_box()
    atoms.calc = calc
    stress = atoms.get_stress()
    np.testing.assert_allclose(stress, calculate_numerical_stress(atoms, eps=1e-5), atol=1e-7)
    np.testing.assert_allclose(atoms.get_forces(), calculate_numerical_forces(atoms, eps=1e-4), atol=1e-6)
    shifted = atoms.copy()  # a lattice translation of one atom changes nothing
    shifted.positions[2] += atoms.cell[0] - atoms.cell[2]
    e2, f2 = energy_forces(calc, shifted)
    assert abs(e2 - atoms.get_potential_energy()) < 1e-10
    np.testing.assert_allclose(f2, atoms.get_forces(), atol=1e-10)


def test_nve_runs_and_conserves_energy(calc) -> None:
    atoms = ethanol()
    atoms.calc = calc
    rng = np.random.default_rng(4)
    atoms.set_momenta(rng.normal(scale=0.05, size=(len(atoms), 3)) * atoms.get_masses()[:, None] ** 0.5)
    e_start = atoms.get_total_energy()
    VelocityVerlet(atoms, timestep=0.1 * ase.units.fs).run(20)
    assert np.isfinite(atoms.get_total_energy())
    assert abs(atoms.get_total_energy() - e_start) < 1e-3


def test_zero_length_edges_are_finite() -> None:
    torch.manual_seed(0)
    model = MACEPotential(CONFIG, dtype=torch.float64)
    pos = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.2, 0.0]], dtype=torch.float64)
    edges = torch.tensor([[0, 1, 0, 2, 1, 2, 0], [1, 0, 2, 0, 2, 1, 0]])  # coincident atoms + a self-loop
    graph = Graph(torch.tensor([0, 1, 2]), pos, edges, torch.zeros(3, dtype=torch.long), 1)
    out = model(graph)
    assert torch.isfinite(out["energy"]).all() and torch.isfinite(out["forces"]).all()


def test_bad_structures(calc) -> None:
    with pytest.raises(StructureError, match="unknown element.*N"):
        energy_forces(calc, ase.Atoms("NH3", [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]]))
    with pytest.raises(StructureError, match="closer than 0.1"):
        energy_forces(calc, ase.Atoms("CH", [[0, 0, 0], [0.05, 0, 0]]))
    with pytest.raises(StructureError, match="empty"):
        energy_forces(calc, ase.Atoms())
    with pytest.raises(StructureError, match="NaN"):
        energy_forces(calc, ase.Atoms("CH", [[0, 0, 0], [np.nan, 0, 0]]))


def test_bad_model_files(tmp_path, model_file) -> None:
    with pytest.raises(FileNotFoundError, match="not found"):
        LieMACECalculator(tmp_path / "missing.pt")
    other = tmp_path / "other.pt"
    save_state(other, {"format": "models.common.checkpoint/1", "model": {}})
    with pytest.raises(CheckpointError, match="not a lie_nn MACE potential"):
        LieMACECalculator(other)
    state = torch.load(model_file, weights_only=True)
    state["config"]["channels"] = 8  # weights of another size
    save_state(tmp_path / "mismatch.pt", state)
    with pytest.raises(CheckpointError, match="do not fit"):
        LieMACECalculator(tmp_path / "mismatch.pt")
    (tmp_path / "garbage.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read"):
        LieMACECalculator(tmp_path / "garbage.pt")
    with pytest.raises(ValueError, match="dtype"):
        LieMACECalculator(model_file, dtype="float16")


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="elements"):
        MACEConfig(elements=(1, 1))
    with pytest.raises(ValueError, match="hidden_ell"):
        MACEConfig(elements=(1,), max_ell=1, hidden_ell=2)
    with pytest.raises(ValueError, match="unknown settings"):
        MACEConfig.from_dict({"elements": [1], "colour": "red"})
    assert MACEConfig.from_dict(CONFIG.to_dict()) == CONFIG
