"""The batched sampler of models/molecule_generation: inverse-CDF draws are exact, the fragment graph equals
the radius graph, and a molecule does not depend on the batching (the same molecules one at a time)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lie_nn.nn import radius_graph, spherical_harmonics
from models.molecule_generation.focus_encoder import FocusEncoder
from models.molecule_generation.generate import generate
from models.molecule_generation.grid import GridConfig, PositionGrid
from models.molecule_generation.model import GeneratorConfig, MoleculeGenerator
from models.molecule_generation.sampler import fragment_graph, inverse_cdf

TINY_GRID = GridConfig(lmax=5, n_radii=12, n_basis=5, n_beta=12, n_alpha=24)


def _stratified(n: int) -> torch.Tensor:
    return (torch.arange(n, dtype=torch.float64) + 0.5) / n


def test_inverse_cdf_hits_each_index_in_proportion_and_never_a_zero_one() -> None:
    p = torch.tensor([0.1, 0.0, 0.25, 0.05, 0.6, 0.0], dtype=torch.float64)
    n = 20_000
    idx = inverse_cdf(p.log().expand(n, -1), _stratified(n))  # a uniform grid of u: counts n p ± 1
    counts = torch.bincount(idx, minlength=6).double()
    assert torch.all((counts - n * p).abs() <= 1.0)
    edge = torch.tensor([0.0, 1.0 - 1e-17, 0.1, 0.35 - 1e-17])
    assert inverse_cdf(p.log().expand(4, -1), edge).tolist() == [0, 4, 2, 2]


def test_two_step_grid_sampling_is_exact() -> None:
    grid = PositionGrid(GridConfig(lmax=2, n_radii=3, n_basis=3, n_beta=2, n_alpha=3), dtype=torch.float64)
    coeff = torch.randn(1, 3, 9, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    p = grid.log_probs(coeff, 0.7).exp().flatten()
    a = b = 300  # u = (radial, angular) on an a x b grid: each cell's count is (a p_k ± 1)(b p_j|k ± 1)
    u = torch.cartesian_prod(_stratified(a), _stratified(b))
    points = grid.sample(coeff.expand(a * b, -1, -1), 0.7, uniforms=u)
    cells = (grid.radii[:, None, None] * grid.directions).reshape(-1, 3)
    dist = (points[:, None] - cells).norm(dim=-1)
    freq = torch.bincount(dist.argmin(1), minlength=len(cells)).double() / (a * b)
    assert (freq - p).abs().max() <= 1 / a + 1 / b + 1 / (a * b)
    assert dist.min(1).values.max() < 1e-12  # always a grid point


def test_radial_refinement_draws_from_the_continuous_density_inside_the_cell() -> None:
    c = GridConfig(lmax=2, n_radii=3, n_basis=3, n_beta=2, n_alpha=3)
    grid = PositionGrid(c, dtype=torch.float64)
    coeff = torch.randn(1, 3, 9, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    n, refine, temperature = 4000, 5, 0.8
    u = torch.stack([torch.full((n,), 0.6, dtype=torch.float64), torch.full((n,), 0.3, dtype=torch.float64),
                     _stratified(n)], 1)
    coarse = grid.sample(coeff.expand(n, -1, -1), temperature, uniforms=u)
    fine = grid.sample(coeff.expand(n, -1, -1), temperature, uniforms=u, refine=refine)
    direction, r = coarse[0] / coarse[0].norm(), coarse[0].norm()
    assert torch.allclose(fine / fine.norm(dim=1, keepdim=True), direction.expand(n, -1), atol=1e-12)
    dr = (c.r_max - c.r_min) / (c.n_radii - 1)
    sub = r + dr * ((torch.arange(refine, dtype=torch.float64) + 0.5) / refine - 0.5)
    centers = torch.linspace(c.r_min, c.r_max, c.n_basis, dtype=torch.float64)
    width = (c.r_max - c.r_min) / (c.n_basis - 1)
    y = spherical_harmonics([0, 1, 2], direction[None])[0]  # f(r, x) = Σ_b φ_b(r) Σ_lm a_blm Y_lm(x)
    f = torch.exp(-0.5 * ((sub[:, None] - centers) / width) ** 2) @ (coeff[0] @ y)
    q = sub**2 * torch.exp(f / temperature)
    q = q / q.sum()
    counts = torch.bincount((fine.norm(dim=1)[:, None] - sub).abs().argmin(1), minlength=refine).double()
    assert torch.all((counts - n * q).abs() <= 1.0) and q.min() > 0.05
    with pytest.raises(ValueError, match="refine"):
        grid.sample(coeff, 1.0, refine=0)


def test_fragment_graph_equals_the_radius_graph() -> None:
    rng = np.random.default_rng(0)
    sizes = torch.tensor([5, 1, 9, 3])
    pos = torch.tensor(rng.uniform(-3, 3, (4, 9, 3)))
    pos[torch.arange(9) >= sizes[:, None]] = 0.0  # padding sits on the atoms: must not make edges
    edges = fragment_graph(pos, sizes, 4.0)
    flat = pos[torch.arange(9) < sizes[:, None]]
    batch = torch.repeat_interleave(torch.arange(4), sizes)
    reference = radius_graph(flat, 4.0, batch=batch)[0]
    assert sorted(map(tuple, edges.T.tolist())) == sorted(map(tuple, reference.T.tolist()))
    assert edges.shape[1] > 0


@pytest.mark.parametrize("kind", ["equivariant", "mlp"])
def test_focus_encoder_equals_the_full_encoder(kind: str) -> None:
    torch.manual_seed(1)
    model = MoleculeGenerator(GeneratorConfig(kind=kind, channels=4, grid=TINY_GRID), torch.float64)
    rng = np.random.default_rng(1)
    sizes = torch.tensor([4, 7, 2])
    pos = torch.tensor(rng.uniform(-2, 2, (3, 7, 3)))
    real = torch.arange(7) < sizes[:, None]
    species = torch.tensor(rng.integers(0, 5, 13))
    edges = fragment_graph(pos, sizes, model.config.cutoff)
    s_full, h_full = model.encode_graph(species, pos[real], edges)
    encoder = FocusEncoder(model)
    s, state = encoder.encode(species, pos[real], edges)
    focus = torch.tensor([2, 9, 12])
    assert torch.allclose(s, s_full, atol=1e-12, rtol=0)
    assert torch.allclose(encoder.focus_features(state, focus), h_full[focus], atol=1e-12, rtol=0)
    assert h_full.abs().max() > 1e-3 and s_full.abs().max() > 1e-3


def _model() -> MoleculeGenerator:
    torch.manual_seed(0)
    model = MoleculeGenerator(GeneratorConfig(channels=4, grid=TINY_GRID), torch.float64)
    with torch.no_grad():
        model.stop_mlp.biases[-1].fill_(-1.5)  # molecules of varied sizes
    return model


def test_batched_sampling_gives_the_same_molecules_as_one_at_a_time() -> None:
    model = _model()
    runs = {b: generate(model, 7, seed=3, batch_size=b, max_atoms=7, show_progress=False) for b in (1, 3, 7)}
    sizes = [len(z) for z, _ in runs[1]]
    assert len(set(sizes)) > 2  # slots are refilled at different steps
    for b in (3, 7):
        for (z1, x1), (zb, xb) in zip(runs[1], runs[b], strict=True):
            assert np.array_equal(z1, zb) and np.allclose(x1, xb, atol=1e-12)
    first = generate(model, 4, seed=3, batch_size=2, max_atoms=7, show_progress=False)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(first, runs[7][:4], strict=True))
    rest = generate(model, 4, seed=3, first=3, batch_size=3, max_atoms=7, show_progress=False)  # a part
    assert all(np.array_equal(a[0], b[0]) and np.allclose(a[1], b[1], atol=1e-12)
               for a, b in zip(rest, runs[7][3:], strict=True))
    other = generate(model, 7, seed=4, batch_size=7, max_atoms=7, show_progress=False)
    assert any(len(a[0]) != len(b[0]) or not np.allclose(a[1], b[1])
               for a, b in zip(other, runs[7], strict=True))


def test_negative_seed_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        generate(_model(), 2, seed=-1, show_progress=False)
