"""The equivariant protein autoencoder: exact SO(3) × translation equivariance of encode and decode
(float64 to 1e-10, float32 to 1e-5), padding, symmetric-atom loss, and the peer's lack of symmetry."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lie_nn as lnn
from lie_nn.testing import GroupElement, represent
from models.protein_autoencoder.geometry import random_rotations, symmetric_squared_error
from models.protein_autoencoder.model import AutoencoderConfig, EquivariantAutoencoder
from models.protein_autoencoder.peer import PeerAutoencoder
from models.protein_autoencoder.residues import RESIDUES, atom_mask
from models.protein_autoencoder.train import loss_fn

pytest.importorskip("gemmi")
from models.protein_autoencoder.synthetic import synthetic_chain  # noqa: E402

CONFIG = AutoencoderConfig(
    levels=2,
    scalars=6,
    vectors=3,
    tensors=2,
    latent_scalars=4,
    latent_vectors=2,
    latent_tensors=1,
    radial_hidden=8,
)
# lie_nn's SO3(1) components are (y, z, x): l1 = P @ xyz
P = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]], dtype=torch.float64)


def _batch(lengths=(13, 13), dtype=torch.float64, seed=0):
    chains = [synthetic_chain(n, seed=seed + k) for k, n in enumerate(lengths)]
    return (
        torch.as_tensor(np.stack([c.types for c in chains])),
        torch.as_tensor(np.stack([c.coords for c in chains]), dtype=dtype),
        torch.as_tensor(np.stack([c.mask for c in chains])),
    )


def _group(seed):
    g = GroupElement.random(lnn.SO3(1), seed=seed)
    rot = P.T @ torch.as_tensor(represent(lnn.SO3(1), g)) @ P
    return g, rot


def _latent_rep(g, config, dtype):
    blocks = [
        torch.as_tensor(represent(ir, g), dtype=dtype) for mul, ir in config.latent_irreps for _ in range(mul)
    ]
    return torch.block_diag(*blocks)


def test_rotation_matrix_matches_lie_nn_l1():
    g, rot = _group(7)
    assert torch.allclose(rot @ rot.T, torch.eye(3, dtype=torch.float64), atol=1e-12)
    assert abs(torch.linalg.det(rot) - 1) < 1e-12


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-10), (torch.float32, 1e-5)])
@pytest.mark.parametrize("seed", [0, 1])
def test_encode_and_decode_are_equivariant(dtype, tol, seed):
    torch.manual_seed(seed)
    model = EquivariantAutoencoder(CONFIG, dtype=dtype)
    types, coords, mask = _batch((13, 13), dtype, seed)
    g, rot = _group(seed + 10)
    rot = rot.to(dtype)
    shift = torch.tensor([3.0, -7.0, 11.0], dtype=dtype)
    moved = coords @ rot.T + shift
    z, zr = model.encode(types, coords, mask), model.encode(types, moved, mask)
    scale = 1 + z.features.abs().max()
    assert (zr.pos - (z.pos @ rot.T + shift)).abs().max() < tol * 10
    assert (zr.features - z.features @ _latent_rep(g, CONFIG, dtype).T).abs().max() < tol * scale
    x, logits = model.decode(z)
    xr, logits_r = model.decode(zr)
    assert (xr - (x @ rot.T + shift)).abs().max() < tol * 10
    assert (logits_r - logits).abs().max() < tol * 10
    # decode(D(R) z) alone (not through the encoder) is R decode(z)
    zr.features = z.features @ _latent_rep(g, CONFIG, dtype).T
    zr.pos = z.pos @ rot.T
    assert (model.decode(zr)[0] - x @ rot.T).abs().max() < tol * 10


def test_features_are_not_trivially_invariant():
    """The l >= 1 latent channels do move: equivariance is not met by zero vectors."""
    model = EquivariantAutoencoder(CONFIG, dtype=torch.float64)
    z = model.encode(*_batch())
    assert z.features[..., CONFIG.latent_scalars :].abs().max() > 1e-3


def test_lengths_are_padded_and_cut():
    model = EquivariantAutoencoder(CONFIG, dtype=torch.float64)
    for n in (1, 3, 4, 9):
        types, coords, mask = _batch((n,))
        z = model.encode(types, coords, mask)
        assert z.pos.shape[1] == -(-n // 4) and z.length == n
        x, logits = model.decode(z)
        assert x.shape == (1, n, 14, 3) and logits.shape == (1, n, len(RESIDUES))


def test_padding_does_not_change_the_real_nodes_messages():
    """A chain of 8 and the same chain padded inside a batch by a longer one give the same latent."""
    model = EquivariantAutoencoder(CONFIG, dtype=torch.float64)
    types, coords, mask = _batch((8,))
    z = model.encode(types, coords, mask)
    types2, coords2, mask2 = _batch((7,))
    z2 = model.encode(types2, coords2, mask2)  # 7 residues: one padded node
    assert torch.isfinite(z2.features).all()
    assert z.features.shape == z2.features.shape


def test_gradients_are_finite_with_padding():
    model = EquivariantAutoencoder(CONFIG, dtype=torch.float64)
    types, coords, mask = _batch((7, 7))
    loss, _ = loss_fn()(model.train(), {"types": types, "coords": coords, "mask": mask})
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_loss_is_rotation_invariant_for_ours_not_for_the_peer():
    torch.manual_seed(0)
    types, coords, mask = _batch()
    rot = random_rotations(1, generator=torch.Generator().manual_seed(3))[0]
    batches = [{"types": types, "coords": c, "mask": mask} for c in (coords, coords @ rot.T)]
    ours = EquivariantAutoencoder(CONFIG, dtype=torch.float64).eval()
    peer = PeerAutoencoder(CONFIG, dtype=torch.float64).eval()
    a, b = (float(loss_fn()(ours, batch)[0].detach()) for batch in batches)
    assert abs(a - b) < 1e-10 * abs(a)
    a, b = (float(loss_fn()(peer, batch)[0].detach()) for batch in batches)
    assert abs(a - b) > 1e-6 * abs(a)


def test_peer_is_translation_equivariant_and_same_latent_size():
    peer = PeerAutoencoder(CONFIG, dtype=torch.float64)
    types, coords, mask = _batch()
    shift = torch.tensor([5.0, 1.0, -2.0], dtype=torch.float64)
    x = peer(types, coords, mask)[0]
    assert (peer(types, coords + shift, mask)[0] - (x + shift)).abs().max() < 1e-10
    ours = EquivariantAutoencoder(CONFIG, dtype=torch.float64)
    assert peer.encode(types, coords, mask).features.shape == ours.encode(types, coords, mask).features.shape


def test_symmetric_error_ignores_ring_flips_only():
    types, coords, mask = _batch((4,))
    types[0, :] = torch.tensor([RESIDUES.index(r) for r in ("PHE", "LEU", "GLU", "ASN")])
    mask[0] = torch.as_tensor(atom_mask())[types[0]]
    coords = coords * mask.unsqueeze(-1)
    flipped = coords.clone()
    flipped[0, 0, [6, 7, 8, 9]] = coords[0, 0, [7, 6, 9, 8]]  # PHE CD1<->CD2, CE1<->CE2
    flipped[0, 2, [7, 8]] = coords[0, 2, [8, 7]]  # GLU OE1<->OE2
    assert symmetric_squared_error(flipped, coords, mask, types).abs().max() < 1e-12
    leu = coords.clone()
    leu[0, 1, [6, 7]] = coords[0, 1, [7, 6]]  # LEU CD1<->CD2: prochiral, not symmetric
    assert symmetric_squared_error(leu, coords, mask, types)[0, 1] > 0.1
    half = flipped.clone()
    half[0, 0, [8, 9]] = coords[0, 0, [8, 9]]  # only half a ring flip is an error
    assert symmetric_squared_error(half, coords, mask, types)[0, 0] > 0.1
