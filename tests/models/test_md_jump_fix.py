"""models/md_jump: the equivariant network's self-interaction and the data CLI's ``--add``.

Tiny data made here; no OpenMM simulation runs (the trajectories' files already exist, so the
generator only rewrites the manifest).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import lie_nn
from models.md_jump.data import TRAJECTORIES, TrajectorySpec, parse_extra, trajectory_specs
from models.md_jump.model import EquivariantVelocity, JumpConfig, jump_graph


def _net(self_gate: bool, dtype=torch.float64) -> EquivariantVelocity:
    torch.manual_seed(0)
    cfg = JumpConfig(num_atoms=4, num_lags=1, channels=4, num_layers=2, r_cut=6.0, radial_hidden=(8,),
                     self_gate=self_gate)
    return EquivariantVelocity(cfg, dtype=dtype)


def _outputs_at_two_times(net: EquivariantVelocity, x_t: torch.Tensor, x_s: torch.Tensor, r_cut: float):
    g = jump_graph(x_t[None], r_cut)
    lag = torch.tensor([0])
    return [net(g, x_t, x_s, torch.tensor([s], dtype=x_t.dtype), lag)[0] for s in (0.05, 0.8)]


def test_self_gate_scales_an_atoms_own_displacement_with_s() -> None:
    """Isolated atoms (no edges): without the self-interaction the velocity is the same linear map of
    the atom's own displacement at every s (the failure of the first version); with it, it is not."""
    rng = np.random.default_rng(0)
    x_t = torch.tensor(rng.normal(scale=10.0, size=(4, 3)), dtype=torch.float64)
    x_s = x_t + torch.tensor(rng.normal(scale=0.3, size=(4, 3)), dtype=torch.float64)
    assert jump_graph(x_t[None], 0.01).edge_index.shape[1] == 0
    b_early, b_late = _outputs_at_two_times(_net(False), x_t, x_s, 0.01)
    torch.testing.assert_close(b_early, b_late, atol=1e-12, rtol=0)
    b_early, b_late = _outputs_at_two_times(_net(True), x_t, x_s, 0.01)
    assert (b_early - b_late).abs().max() > 1e-3


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-10), (torch.float32, 1e-5)])
def test_self_gate_network_is_equivariant(dtype: torch.dtype, tol: float) -> None:
    net = _net(True, dtype)
    rng = np.random.default_rng(1)
    x_t = torch.tensor(rng.normal(scale=2.0, size=(4, 3)), dtype=dtype)
    x_s = x_t + torch.tensor(rng.normal(scale=0.3, size=(4, 3)), dtype=dtype)
    R = torch.tensor(lie_nn.random_rotation(7), dtype=dtype)
    c = torch.tensor([1.0, -2.0, 0.5], dtype=dtype)
    s, lag = torch.tensor([0.3], dtype=dtype), torch.tensor([0])
    b, eta = net(jump_graph(x_t[None], 6.0), x_t, x_s, s, lag)
    xr_t, xr_s = x_t @ R.T + c, x_s @ R.T + c
    br, etar = net(jump_graph(xr_t[None], 6.0), xr_t, xr_s, s, lag)
    assert b.abs().max() > 1e-3 and len(net.self_gates) == 2
    torch.testing.assert_close(br, b @ R.T, atol=tol, rtol=0)
    torch.testing.assert_close(etar, eta @ R.T, atol=tol, rtol=0)


def test_config_saved_before_the_self_gate_loads_without_it() -> None:
    old = JumpConfig(num_atoms=4, num_lags=1).to_dict()
    del old["self_gate"]
    cfg = JumpConfig.from_dict(old)
    assert cfg.self_gate is False and JumpConfig.from_dict(JumpConfig(4, 1).to_dict()).self_gate is True
    assert len(EquivariantVelocity(cfg).self_gates) == 0


def test_model_file_of_the_first_version_loads_and_runs_unchanged(tmp_path: Path) -> None:
    """A ``model.pt`` whose config has no ``self_gate`` (written before it existed) loads with
    ``weights_only=True`` as the network without it and gives the same velocities."""
    from models.common.checkpoint import save_state
    from models.md_jump.interpolant import Interpolant
    from models.md_jump.jumper import Jumper
    from models.md_jump.topology import Topology

    top = Topology((0, 1, 2, 3), ("GLY", "TYR", "ASP", "GLY"), ("CA",) * 4)
    old = Jumper("equivariant", _net(False), Interpolant(), (10.0,), top, (0, 1, 2, 3))
    old.save(tmp_path / "model.pt")
    state = torch.load(tmp_path / "model.pt", weights_only=True)
    del state["config"]["self_gate"]
    save_state(tmp_path / "model.pt", state)
    new = Jumper.load(tmp_path / "model.pt")
    assert new.config.self_gate is False and len(new.network.self_gates) == 0
    x_t = torch.tensor(np.random.default_rng(2).normal(scale=2.0, size=(4, 3)))
    for a, b in zip(_outputs_at_two_times(old.network, x_t, x_t + 0.2, 6.0),
                    _outputs_at_two_times(new.network, x_t, x_t + 0.2, 6.0), strict=True):
        torch.testing.assert_close(a, b, atol=0, rtol=0)


# ------------------------------------------------------------------------------------ data --add
def test_parse_extra_and_its_errors() -> None:
    assert parse_extra("train:extended:7:200") == TrajectorySpec("train_extended_s7", "train", "extended", 7,
                                                                 200.0)
    for text, msg in [("test:folded:4", "SPLIT:START:SEED:LENGTH_PS"), ("val:folded:4:10", "split must be"),
                      ("test:open:4:10", "start must be"), ("test:folded:x:10", "SEED must be an integer"),
                      ("test:folded:4:-1", "LENGTH_PS > 0")]:
        with pytest.raises(ValueError, match=msg):
            parse_extra(text)


def test_parse_extra_refuses_seeds_openmm_cannot_take() -> None:
    """OpenMM's seeds are C ints (2**31 overflowed deep inside the simulation, with a traceback), and
    seed 0 becomes 2**31 - 1 (system.integrator_seed): both are refused at parse time."""
    assert parse_extra("test:folded:2147483646:10").seed == 2**31 - 2
    for seed in (2**31 - 1, 2**31, 2**40, -1):
        with pytest.raises(ValueError, match=r"SEED must be in \[0, 2147483646\]"):
            parse_extra(f"test:folded:{seed}:10")


def test_trajectory_specs_grow_and_refuse_conflicts() -> None:
    extra = parse_extra("test:folded:4:3000")
    specs = trajectory_specs(TRAJECTORIES, (), [extra])
    again = trajectory_specs(TRAJECTORIES, [s.__dict__ for s in specs])  # a later call without --add
    assert again == specs and specs[-1] == extra and specs[:3] == TRAJECTORIES
    with pytest.raises(ValueError, match="already exists with other settings"):
        trajectory_specs(TRAJECTORIES, [s.__dict__ for s in specs], [parse_extra("test:folded:4:1000")])
    with pytest.raises(ValueError, match="share a thermostat seed"):
        trajectory_specs(TRAJECTORIES, (), [parse_extra("test:extended:3:100")])


def _fake_data_set(out: Path) -> None:
    """Files as data.generate writes them, for specs of 2 ps at 1 ps (no OpenMM run needed)."""
    out.mkdir()
    for name in ("topology.pdb", "folded.pdb"):
        (out / name).write_text(f"REMARK {name} built once\nEND\n")
    for spec in TRAJECTORIES + (parse_extra("test:folded:4:2"),):
        np.savez(out / f"{spec.name}.npz", positions=np.zeros((3, 5, 3), np.float32), time_ps=np.arange(3.0))


def test_data_cli_add_keeps_structures_and_earlier_trajectories(tmp_path: Path) -> None:
    pytest.importorskip("openmm")
    from models.md_jump import data

    out = tmp_path / "d"
    _fake_data_set(out)
    common = ["--out", str(out), "--length-ps", "2", "--chunk-ps", "1"]
    data.main(common)
    data.main([*common, "--add", "test:folded:4:2"])
    data.main(common)  # a later call without --add keeps the added trajectory
    manifest = json.loads((out / "manifest.json").read_text())
    names = [t["name"] for t in manifest["settings"]["trajectories"]]
    assert names == [s.name for s in TRAJECTORIES] + ["test_folded_s4"]
    assert manifest["split"]["test_folded_s4"] == "test" and "test_folded_s4.npz" in manifest["files"]
    assert (out / "folded.pdb").read_text().startswith("REMARK folded.pdb built once")
    with pytest.raises(ValueError, match="--chunk-ps 1.0; use the same values"):
        data.main(["--out", str(out), "--length-ps", "2", "--chunk-ps", "2"])
    with pytest.raises(ValueError, match="already exists with other settings"):
        data.main([*common, "--add", "test:folded:4:1"])


@pytest.mark.parametrize("value", ["-1", "nan", "0"])
def test_onejump_eval_refuses_a_bad_folded_threshold(value: str, capsys: pytest.CaptureFixture) -> None:
    """A non-positive or NaN ``--folded-rmsd`` silently put every start in the 'unfolded' class."""
    from models.md_jump import onejump_eval

    with pytest.raises(SystemExit):
        onejump_eval.main(["run", "--out", "x", "--folded-rmsd", value])
    assert "--folded-rmsd: must be a positive number" in capsys.readouterr().err


def test_data_cli_add_refuses_to_bless_a_changed_file(tmp_path: Path) -> None:
    """--add rewrites the manifest; a trajectory changed since the last one must not get a new sha256."""
    pytest.importorskip("openmm")
    from models.common.io import DataError
    from models.md_jump import data

    out = tmp_path / "d"
    _fake_data_set(out)
    common = ["--out", str(out), "--length-ps", "2", "--chunk-ps", "1"]
    data.main(common)
    before = (out / "manifest.json").read_text()
    np.savez(out / "train_folded_s2.npz", positions=np.ones((3, 5, 3), np.float32), time_ps=np.arange(3.0))
    with pytest.raises(DataError, match="train_folded_s2.npz does not match its sha256"):
        data.main([*common, "--add", "test:folded:4:2"])
    assert (out / "manifest.json").read_text() == before


# ------------------------------------------------------------------------- reproducible start structures
def _build_twice(kind: str) -> tuple[np.ndarray, np.ndarray]:
    pytest.importorskip("pdbfixer")
    pytest.importorskip("PeptideBuilder")
    from models.md_jump.system import build_start, positions_nm

    return tuple(positions_nm(build_start(kind, seed=0)[1]) for _ in range(2))


def test_extended_start_is_bit_reproducible() -> None:
    """pdbfixer/Modeller place hydrogens with the global random: seeded now (builds differed by 0.18 nm)."""
    import random

    state = random.getstate()
    a, b = _build_twice("extended")
    np.testing.assert_array_equal(a, b)
    assert random.getstate() == state  # the caller's random stream is left alone


def test_pdbfixer_minimiser_gets_a_fixed_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    """pdbfixer's clash-removal dynamics (``addMissingAtoms``) must get a seed OpenMM does not read as
    "random": 0 is one, so seed 0 is mapped like the thermostat's (it was passed as 0 before)."""
    pytest.importorskip("pdbfixer")
    PeptideBuilder = pytest.importorskip("PeptideBuilder")
    from pdbfixer import PDBFixer

    from models.md_jump.system import SEQUENCE, _fixed, integrator_seed

    seeds = []
    original = PDBFixer.addMissingAtoms

    def spy(self, seed=None):
        seeds.append(seed)
        return original(self, seed=seed)

    monkeypatch.setattr(PDBFixer, "addMissingAtoms", spy)
    _fixed(PeptideBuilder.make_extended_structure(SEQUENCE), seed=0)
    _fixed(PeptideBuilder.make_extended_structure(SEQUENCE), seed=5)
    assert seeds == [integrator_seed(0), 5] and 0 not in seeds


@pytest.mark.slow
def test_folded_start_is_bit_reproducible() -> None:
    """The annealing thermostat with seed 0 (OpenMM's 'random seed') was not reproducible either."""
    a, b = _build_twice("folded")
    np.testing.assert_array_equal(a, b)
