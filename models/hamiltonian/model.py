r"""An O(3)-equivariant Hamiltonian (Fock matrix) network, PhiSNet-style, from public ``lie_nn.nn`` layers.

For a molecule with elements ``z_i`` and positions ``x_i`` (Å):

1. **Node features** ``h_i`` (``C × (0e + 1o + 1e + 2e + 2o)``): an element embedding, then
   ``num_layers`` :class:`lie_nn.nn.MACELayer` s over all atom pairs (messages from spherical harmonics
   ``Y_{ℓ≤4}(\hat r_{ij})`` weighted by an MLP of a Bessel basis of ``r_{ij}`` times a cutoff).
2. **Pair features** for every ordered pair ``i ≠ j``:
   ``g_{ij} = \mathrm{Lin}(h_i ⊗_w Y(\hat r_{ij})) + \mathrm{Lin}(h_j ⊗_{w'} Y(\hat r_{ij}))``, channel-wise
   tensor products whose weights ``w, w'`` are an MLP of ``(\mathrm{Bessel}(r_{ij}), h^{0e}_i, h^{0e}_j)``;
   **on-site features** ``g_{ii} = \mathrm{Lin}(h_i) + \mathrm{Lin}(\sum_j h_j ⊗_{w''} Y(\hat r_{ij}))``.
   Both live in ``P × (⊕_{L ≤ 4} L^{±})``: every parity, because ``l_a ⊗ l_b`` holds pseudo-tensors.
3. **Blocks**: for the element pair ``(z_i, z_j)`` a Linear maps ``g_{ij}`` to one ``O3(L, (-1)^{l_a+l_b})``
   vector per shell pair and ``L``, recombined by Clebsch–Gordan coefficients into the
   ``(2l_a+1) × (2l_b+1)`` blocks (:class:`~models.hamiltonian.blocks.BlockAssembler`).
4. ``F = F_0 + s\,(B + B^T)/2``: symmetrised (``F_{ij} = F_{ji}^T``), scaled by ``s`` and shifted by
   the rotation-invariant on-site reference ``F_0`` (:func:`models.hamiltonian.dataset.onsite_reference`).
   The block heads start at zero, so an untrained model predicts ``F_0``.

Every step is O(3)-equivariant, so ``F(R x) = D(R) F(x) D(R)^T`` with ``D`` block-diagonal
``wigner_D(O3(l, (-1)^l), R)`` over the AO shells (lie_nn basis, :mod:`models.hamiltonian.basis`).
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import torch

import lie_nn as lnn
from lie_nn.nn import (
    BesselBasis,
    ChannelwiseTensorProduct,
    Linear,
    MACELayer,
    PolynomialCutoff,
    RadialMLP,
    scatter_sum,
    spherical_harmonics,
)
from models.hamiltonian.blocks import BlockAssembler

__all__ = ["HamiltonianConfig", "HamiltonianNet", "MoleculeLayout"]


@dataclasses.dataclass(frozen=True)
class HamiltonianConfig:
    """Hyper-parameters; ``shells[k]`` are the AO shell angular momenta of ``elements[k]`` in ``basis``."""

    elements: tuple[int, ...]
    shells: tuple[tuple[int, ...], ...]
    basis: str
    channels: int = 16
    pair_channels: int = 8
    num_layers: int = 2
    correlation: int = 2
    max_ell: int = 4
    r_max: float = 5.0
    num_bessel: int = 8
    radial_hidden: tuple[int, ...] = (32, 32)

    def __post_init__(self) -> None:
        if not self.elements or len(set(self.elements)) != len(self.elements):
            raise ValueError(f"HamiltonianConfig: elements must be distinct, got {self.elements!r}")
        if len(self.shells) != len(self.elements) or not all(self.shells):
            raise ValueError("HamiltonianConfig: one non-empty shell list per element is needed")
        if any(2 * max(s) > self.max_ell for s in self.shells):
            raise ValueError(f"HamiltonianConfig: max_ell={self.max_ell} < 2 l_max of the basis")

    def to_dict(self) -> dict:
        return {k: _listify(v) for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> HamiltonianConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        if set(d) - names:
            raise ValueError(f"HamiltonianConfig: unknown settings {sorted(set(d) - names)}")
        return cls(**{k: _tuplify(v) for k, v in d.items()})

    def element_index(self, numbers) -> np.ndarray:
        """Indices of ``numbers`` in ``elements``; a clear error for an element the model does not know."""
        lookup = {z: k for k, z in enumerate(self.elements)}
        unknown = sorted({int(z) for z in numbers} - set(lookup))
        if unknown:
            raise ValueError(f"the model covers elements {list(self.elements)} ({self.basis}); "
                             f"unknown atomic number(s) {unknown}")
        return np.array([lookup[int(z)] for z in numbers], dtype=np.int64)


def _listify(v):
    return [_listify(x) for x in v] if isinstance(v, (tuple, list)) else v


def _tuplify(v):
    return tuple(_tuplify(x) for x in v) if isinstance(v, list) else v


def _all_irreps(max_ell: int) -> list:
    return [lnn.O3(ell, p) for ell in range(max_ell + 1) for p in ((1, -1) if ell % 2 == 0 else (-1, 1))]


@dataclasses.dataclass(frozen=True)
class MoleculeLayout:
    """Atom pairs grouped by element pair, and the AO permutation that places their blocks."""

    species: np.ndarray
    nao: int
    pair_types: tuple[tuple[int, int], ...]
    pairs: tuple[np.ndarray, ...]  # per type: (P, 2) ordered atom pairs (i, j), i != j
    site_types: tuple[int, ...]
    sites: tuple[np.ndarray, ...]  # per element: atoms
    placement: np.ndarray  # flat AO-matrix index of every block entry, in block order

    @classmethod
    @functools.lru_cache(maxsize=32)
    def build(cls, config: HamiltonianConfig, numbers: tuple[int, ...]) -> MoleculeLayout:
        species = config.element_index(numbers)
        sizes = [sum(2 * l + 1 for l in config.shells[s]) for s in species]
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        nao = int(offsets[-1])
        n = len(numbers)
        groups: dict[tuple[int, int], list] = {}
        for i in range(n):
            for j in range(n):
                if i != j:
                    groups.setdefault((int(species[i]), int(species[j])), []).append((i, j))
        pair_types = tuple(sorted(groups))
        pairs = tuple(np.array(groups[t], dtype=np.int64) for t in pair_types)
        site_types = tuple(sorted({int(s) for s in species}))
        sites = tuple(np.flatnonzero(species == t) for t in site_types)
        place = []
        for t, p in zip(site_types, sites, strict=True):
            del t
            for i in p:
                place.append(_block_index(offsets[i], sizes[i], offsets[i], sizes[i], nao))
        for p in pairs:
            for i, j in p:
                place.append(_block_index(offsets[i], sizes[i], offsets[j], sizes[j], nao))
        placement = np.concatenate(place)
        if sorted(placement.tolist()) != list(range(nao * nao)):
            raise AssertionError("internal error: blocks do not tile the AO matrix")
        return cls(species, nao, pair_types, pairs, site_types, sites, placement)


def _block_index(row: int, nrow: int, col: int, ncol: int, nao: int) -> np.ndarray:
    r = np.arange(row, row + nrow)[:, None]
    c = np.arange(col, col + ncol)[None, :]
    return (r * nao + c).reshape(-1)


class HamiltonianNet(torch.nn.Module):
    """``forward(numbers (n,), positions (B, n, 3)) -> F (B, nao, nao)`` in Hartree (lie_nn AO basis).

    >>> cfg = HamiltonianConfig(elements=(1, 8), shells=((0,), (0, 0, 1)), basis="sto-3g", channels=4,
    ...                         pair_channels=2, num_layers=1, max_ell=2, radial_hidden=(8,))
    >>> net = HamiltonianNet(cfg, dtype=torch.float64)
    >>> x = torch.tensor([[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]]], dtype=torch.float64)
    >>> F = net([8, 1, 1], x)
    >>> F.shape, bool(torch.allclose(F, F.transpose(1, 2)))
    (torch.Size([1, 7, 7]), True)
    """

    def __init__(self, config: HamiltonianConfig, *, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.config = cfg = config
        n_el, c = len(cfg.elements), cfg.channels
        self.sh_ls = list(range(cfg.max_ell + 1))
        sh = [lnn.O3(ell, (-1) ** ell) for ell in self.sh_ls]
        node_ls = min(2, cfg.max_ell)
        node = [(c, ir) for ir in _all_irreps(node_ls)]
        self.bessel = BesselBasis(cfg.r_max, cfg.num_bessel)
        self.cutoff = PolynomialCutoff(cfg.r_max, 5)
        self.embedding = torch.nn.Parameter(torch.randn(n_el, c, dtype=dtype))
        self.layers = torch.nn.ModuleList()
        current = [(c, lnn.O3(0, 1))]
        for _ in range(cfg.num_layers):
            self.layers.append(MACELayer(current, sh, node, node, cfg.correlation, n_el, cfg.num_bessel,
                                         cfg.radial_hidden, 4.0, dtype=dtype))
            current = node
        pair = [(cfg.pair_channels, ir) for ir in _all_irreps(cfg.max_ell)]
        edge_in = cfg.num_bessel + 2 * c
        self.tp_i, self.tp_j, self.tp_site = (
            ChannelwiseTensorProduct(node, sh, _all_irreps(cfg.max_ell), internal_weights=False, dtype=dtype)
            for _ in range(3))
        self.w_i, self.w_j, self.w_site = (
            RadialMLP([edge_in, *cfg.radial_hidden, tp.weight_numel], torch.nn.functional.silu, dtype=dtype)
            for tp in (self.tp_i, self.tp_j, self.tp_site))
        self.lin_i = Linear(self.tp_i.irreps_out, pair, dtype=dtype)
        self.lin_j = Linear(self.tp_j.irreps_out, pair, dtype=dtype)
        self.lin_site = Linear(self.tp_site.irreps_out, pair, dtype=dtype)
        self.lin_self = Linear(node, pair, dtype=dtype)
        self.pair_heads = torch.nn.ModuleDict()
        self.site_heads = torch.nn.ModuleDict()
        for a in range(n_el):
            asm = BlockAssembler(cfg.shells[a], cfg.shells[a])
            self.site_heads[str(a)] = Linear(pair, asm.irreps, dtype=dtype)
            self.register_buffer(f"asm_{a}_{a}", asm.tensor(dtype))
            for b in range(n_el):
                asm = BlockAssembler(cfg.shells[a], cfg.shells[b])
                self.pair_heads[f"{a}_{b}"] = Linear(pair, asm.irreps, dtype=dtype)
                if a != b:
                    self.register_buffer(f"asm_{a}_{b}", asm.tensor(dtype))
        with torch.no_grad():  # start from F = F_0: zero output heads (their gradients are not zero)
            for head in [*self.pair_heads.values(), *self.site_heads.values()]:
                head.weight.zero_()
        for a in range(n_el):
            size = sum(2 * l + 1 for l in cfg.shells[a])
            self.register_buffer(f"onsite_{a}", torch.zeros(size, size, dtype=dtype))
        self.register_buffer("scale", torch.tensor(1.0, dtype=dtype))

    # ------------------------------------------------------------------------------------------
    def set_reference(self, onsite: list[np.ndarray], scale: float) -> None:
        """Set the invariant on-site reference blocks ``F_0`` (per element) and the output scale ``s``."""
        for a, block in enumerate(onsite):
            getattr(self, f"onsite_{a}").copy_(torch.as_tensor(block))
        self.scale.fill_(float(scale))

    def layout(self, numbers) -> MoleculeLayout:
        return MoleculeLayout.build(self.config, tuple(int(z) for z in numbers))

    def forward(self, numbers, positions: torch.Tensor) -> torch.Tensor:
        lay = self.layout(numbers)
        if positions.ndim != 3 or positions.shape[1:] != (len(lay.species), 3):
            n = len(lay.species)
            raise ValueError(f"positions must be (B, {n}, 3) for the {n} atoms, got {tuple(positions.shape)}")
        dtype, device = self.scale.dtype, self.scale.device
        positions = positions.to(dtype)
        bsz, n = positions.shape[:2]
        frame = torch.arange(bsz, device=device).view(-1, 1) * n
        species = torch.as_tensor(lay.species, device=device).repeat(bsz)
        ordered = torch.as_tensor(np.concatenate(lay.pairs), device=device)  # (E0, 2) receivers i, senders j
        recv = (frame + ordered[:, 0]).reshape(-1)  # frame-major
        send = (frame + ordered[:, 1]).reshape(-1)
        pos = positions.reshape(bsz * n, 3)
        vec = pos[send] - pos[recv]
        r = vec.norm(dim=-1)
        radial = self.bessel(r)
        y = spherical_harmonics(self.sh_ls, vec)
        edge_index = torch.stack([send, recv])
        h = self.embedding[species]
        for layer in self.layers:
            h = layer(h, species, y, radial * self.cutoff(r).unsqueeze(-1), edge_index)
        c = self.config.channels
        e = torch.cat([radial, h[recv, :c], h[send, :c]], dim=-1)
        g = self.lin_i(self.tp_i(h[recv], y, self.w_i(e))) + self.lin_j(self.tp_j(h[send], y, self.w_j(e)))
        msg = scatter_sum(self.tp_site(h[send], y, self.w_site(e)), recv, bsz * n) / max(n - 1, 1)
        site = self.lin_self(h) + self.lin_site(msg)
        return self._assemble(lay, g.view(bsz, len(ordered), -1), site.view(bsz, n, -1))

    def _assemble(self, lay: MoleculeLayout, g: torch.Tensor, site: torch.Tensor) -> torch.Tensor:
        bsz = g.shape[0]
        pieces = []
        for a, atoms in zip(lay.site_types, lay.sites, strict=True):
            out = self.site_heads[str(a)](site[:, torch.as_tensor(atoms)])
            raw = out @ getattr(self, f"asm_{a}_{a}")
            pieces.append((self.scale * raw + getattr(self, f"onsite_{a}").reshape(-1)).reshape(bsz, -1))
        start = 0
        for (a, b), p in zip(lay.pair_types, lay.pairs, strict=True):
            out = self.pair_heads[f"{a}_{b}"](g[:, start:start + len(p)])
            pieces.append((self.scale * (out @ getattr(self, f"asm_{a}_{b}"))).reshape(bsz, -1))
            start += len(p)
        flat = torch.cat(pieces, dim=1)
        inverse = torch.empty(lay.nao * lay.nao, dtype=torch.long)
        inverse[torch.as_tensor(lay.placement)] = torch.arange(lay.nao * lay.nao)
        f = flat[:, inverse.to(flat.device)].view(bsz, lay.nao, lay.nao)
        return 0.5 * (f + f.transpose(1, 2))
