r"""A Lorentz-equivariant top tagger built from lie_nn layers (LorentzMACE-style).

Input: constituents' 4-momenta ``p`` ``(batch, n, 4)`` ordered ``(E, px, py, pz)`` and a boolean
``mask`` ``(batch, n)``.  Output: one logit per jet, **exactly invariant** under every proper
orthochronous Lorentz transformation (rotations and boosts) applied to all constituents, under
permutations of the constituents and under padding.

Features: every feature lives in ``C × (scalar ⊕ 4-vector)``, in one of two bases
(``LorentzTaggerConfig.basis``, :mod:`models.top_tagging.basis`):

* ``"complex"`` (default): ``(0,0) ⊕ (1/2,1/2)`` of :class:`~lie_nn.SO13`, complex features and CGs.  The
  real 4-vector becomes the ``(1/2,1/2)`` irrep through the intertwiner ``Q`` of
  :func:`lie_nn.change_of_basis` from the real so(1,3) generators (:func:`lie_nn.four_vector_generators`) to
  ``SO13(1/2,1/2)``; in that basis the CG ``(1/2,1/2) ⊗ (1/2,1/2) → (0,0)`` contracts two vectors to
  ``(p·q)/2`` with the Minkowski metric ``η = diag(1, -1, -1, -1)`` (checked in the tests).
* ``"real"``: the trivial rep ``⊕`` the real 4-vector ``GenericRep(four_vector_generators())``; features,
  CGs and weights are real and ``Q`` is the identity (half the arithmetic of the complex form).

Architecture (the same layers in both bases):

* Invariants only from Minkowski products: with the jet momentum ``J = Σ_i p_i`` (summed over the given
  constituents), ``z_i = p_i·J / J²`` (energy fraction in the jet rest frame), ``k_ij = p_i·p_j / J²``
  and ``d_ij = k_ij / (z_i z_j)`` (``= 1 - cos θ_ij`` in the jet rest frame for massless particles), and
  the jet mass ``m_J = sqrt(J²)``.
* Graph: each constituent receives from its ``k`` nearest neighbours in ``d_ij`` (an invariant
  distance, so the graph itself is invariant) or from all others (``k=None``).
* Layer: message ``m_ij = ChannelwiseTensorProduct(h_j, Y_j; w = MLP(e_ij))`` with equivariant
  attributes ``Y_j = (1, p̂_j)``, ``p̂ = p / m_J``, and invariant edge features
  ``e_ij = (log k_ij, log d_ij, d_ij, log z_i, log z_j)``; ``index_add_`` aggregation; ``Linear`` of the
  aggregate plus a ``Linear`` of the node's own features (which carry ``p̂_i``);
  :class:`~lie_nn.nn.SymmetricContraction` (the MACE product basis, correlation ``ν``); ``Linear`` +
  self-connection; ``Gate`` with scalar gates (boosts are not unitary: the only nonlinearities act on
  invariant channels).
* Readout: the scalar channels, masked mean over constituents, MLP → logit. In the real basis they are
  real by construction. Why they are *real* in the complex basis too: every feature stays in the real form
  ``{Q r : r ∈ R^4}`` of ``(1/2,1/2)`` (and ``R`` for ``(0,0)``). That subspace is preserved by the group
  (real Lorentz matrices), by real weights, by the CGs ``(0,0)⊗(1/2,1/2)→(1/2,1/2)`` (identity) and
  ``(1/2,1/2)⊗(1/2,1/2)→(0,0)`` (``Qᵀ C Q = η/2``), by the product basis of :class:`SymmetricContraction`
  (real in this basis) and by the gate, whose activations (SiLU, tanh) vanish at 0 so that ``act(Re) + i
  act(Im)`` keeps ``Im = 0``. (A sigmoid gate would add ``i/2`` and leave the real form -- still
  equivariant, but wasteful.) The complex-basis readout takes the real part; the tests check that the
  imaginary part is zero to rounding.

Numerics: the model is invariant, so it may be evaluated in any frame.  With ``rest_frame=True``
(default) every jet is boosted (float64) to the rest frame of ``J`` before the network runs: the
components of ``p̂`` are then ``O(1)`` instead of ``O(γ)``, which keeps float32 / complex64 training
accurate.
This is a frame choice, not a symmetry breaking: the boost is ``J``-covariant up to a rotation (the
Wigner rotation), and the network is rotation invariant (tests check both settings).

The pair products ``p_i·p_j`` come from the cancellation-free form of
:func:`models.top_tagging.invariants.pair_products` (nearly collinear pairs keep their digits), in
float64.  ``massless=True`` uses the invariants of ``(|p⃗|, p⃗)`` instead: exactly invariant for massless
constituents, and insensitive to float32 rounding of the energies (massive inputs rounded to float32
have lost their masses; the data files therefore store float64).

Symmetry caveat: choosing the leading ``n`` constituents by transverse momentum (in the data
pipeline) is a lab-frame choice; the model is exactly invariant as a function of the set it is given.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from models.common.layers import mlp
from models.top_tagging.basis import BASES, representations, vector_to_so13
from models.top_tagging.interaction import _Interaction
from models.top_tagging.invariants import massless, pair_products

# the basis helpers live in models.top_tagging.basis and are re-exported here
__all__ = ["BASES", "LorentzTagger", "LorentzTaggerConfig", "check_constituents", "count_parameters",
           "minkowski_dot", "representations", "to_rest_frame", "vector_to_so13"]

METRIC = (1.0, -1.0, -1.0, -1.0)
ENERGY_TOLERANCE = 1e-4  # relative: |p| may exceed E by float32 rounding, not more


def _where(index: torch.Tensor, mask: torch.Tensor) -> str:
    jet, slot = (int(v) for v in mask.nonzero()[index])
    return f"constituent {slot} of jet {jet}"


def check_constituents(p: torch.Tensor, mask: torch.Tensor, who: str = "tagger") -> torch.Tensor:
    r"""Validate a batch of jets at a model's boundary; returns the mask as bool.

    ``p`` ``(batch, n, 4)`` real ``(E, px, py, pz)``, ``mask`` ``(batch, n)``.  Every real constituent
    (``mask`` True) must be finite and physical, ``|p| <= E (1 + 1e-4)`` (massless or massive, positive
    energy; the tolerance covers float32 rounding).  Padded slots may hold anything, NaN included: the
    models never read them.

    >>> p = torch.tensor([[[5.0, 3.0, 4.0, 0.0], [1.0, 2.0, 0.0, 0.0]]])
    >>> check_constituents(p, torch.tensor([[True, False]])).tolist()
    [[True, False]]
    >>> check_constituents(p, torch.tensor([[True, True]]))
    Traceback (most recent call last):
    ...
    ValueError: tagger: constituent 1 of jet 0 is unphysical: |p| = 2 GeV > E = 1 GeV (need E >= |p|)
    """
    if p.ndim != 3 or p.shape[-1] != 4:
        raise ValueError(f"{who}: p must have shape (batch, n, 4), got {tuple(p.shape)}")
    if mask.shape != p.shape[:2]:
        raise ValueError(f"{who}: mask must have shape {tuple(p.shape[:2])}, got {tuple(mask.shape)}")
    if p.is_complex():
        raise ValueError(f"{who}: p must be real 4-momenta, got dtype {p.dtype}")
    mask = mask.to(torch.bool)
    real = p[mask].to(torch.float64)
    if real.numel() == 0:
        return mask
    bad = ~torch.isfinite(real).all(-1)
    if bad.any():
        k = int(bad.nonzero()[0])
        raise ValueError(f"{who}: {_where(k, mask)} is not finite: {real[k].tolist()}")
    energy, momentum = real[:, 0], real[:, 1:].norm(dim=-1)
    bad = momentum > energy * (1 + ENERGY_TOLERANCE)
    if bad.any():
        k = int(bad.nonzero()[0])
        raise ValueError(f"{who}: {_where(k, mask)} is unphysical: |p| = {float(momentum[k]):.6g} GeV > "
                         f"E = {float(energy[k]):.6g} GeV (need E >= |p|)")
    return mask


def minkowski_dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a·b = a_0 b_0 - a_1 b_1 - a_2 b_2 - a_3 b_3`` over the last axis (broadcasting)."""
    return a[..., 0] * b[..., 0] - (a[..., 1:] * b[..., 1:]).sum(-1)


def to_rest_frame(p: torch.Tensor, jet: torch.Tensor, mass: torch.Tensor) -> torch.Tensor:
    r"""Pure boost of ``p`` ``(..., n, 4)`` to the rest frame of ``jet`` ``(..., 4)`` (mass ``(...,)``).

    ``p'_0 = (p·J)/m``,  ``p'_vec = p_vec - J_vec (p'_0 + p_0) / (J_0 + m)`` (cancellation-free form).
    """
    e_rest = minkowski_dot(p, jet[..., None, :]) / mass[..., None]
    scale = (e_rest + p[..., 0]) / (jet[..., 0] + mass)[..., None]
    space = p[..., 1:] - scale[..., None] * jet[..., None, 1:]
    return torch.cat([e_rest[..., None], space], dim=-1)


@dataclass
class LorentzTaggerConfig:
    """Hyper-parameters of :class:`LorentzTagger` (JSON-serialisable)."""

    channels: int = 16
    layers: int = 2
    correlation: int = 2
    k: int | None = 8
    edge_hidden: int = 32
    readout_hidden: int = 64
    rest_frame: bool = True
    mass_scale: float = 100.0  # GeV, jet-mass feature log(m_J / mass_scale)
    massless: bool = False  # invariants of (|p|, p): exact for massless inputs, robust to float32 energies
    basis: str = "complex"  # "real": (1/2,1/2) as the real 4-vector GenericRep, real CGs and arithmetic
    input_norm: bool = False  # BatchNorm of the invariant node / edge inputs (real constituents only)
    edge_scalars: bool = False  # edge weights also see the invariant channels of both ends (EdgeConv-like)

    def to_dict(self) -> dict:
        return asdict(self)


class LorentzTagger(torch.nn.Module):
    """Lorentz-invariant jet tagger; see the module docstring.

    ``forward(p, mask)`` with ``p`` ``(batch, n, 4)`` real (any float dtype; geometry in float64) and
    ``mask`` ``(batch, n)`` bool returns logits ``(batch,)`` in the real dtype of the model.

    >>> model = LorentzTagger(LorentzTaggerConfig(channels=4, layers=1), dtype=torch.float64)
    >>> p = torch.tensor([[[10., 1., 2., 9.], [20., 3., 1., 19.], [5., 0., 1., 4.]]]).double()
    >>> model(p, torch.tensor([[True, True, False]])).shape
    torch.Size([1])
    """

    n_node_features = 4
    n_edge_features = 5

    def __init__(self, config: LorentzTaggerConfig | None = None, *,
                 dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.config = cfg = config or LorentzTaggerConfig()
        if cfg.k is not None and cfg.k < 1:
            raise ValueError(f"k must be a positive int or None, got {cfg.k}")
        if cfg.basis not in BASES:
            raise ValueError(f"basis must be one of {BASES}, got {cfg.basis!r}")
        self.real_dtype = dtype
        # dtype of the equivariant features: complex in the complex basis, the real dtype in the real one
        if cfg.basis == "complex":
            self.feature_dtype = torch.complex128 if dtype == torch.float64 else torch.complex64
            q = torch.as_tensor(vector_to_so13(), dtype=torch.complex128)
        else:  # real 4-vectors: Q is the identity, applied in float64 (exact; no complex arithmetic)
            self.feature_dtype = dtype
            q = torch.eye(4, dtype=torch.float64)
        self.register_buffer("q_t", q.T.contiguous(), persistent=False)  # not in the state dict
        c = cfg.channels
        self.node_mlp = mlp([self.n_node_features, cfg.edge_hidden, 2 * c], dtype)
        # invariant inputs span very different scales (log k_ij ~ -10 ± 2, z ~ 0.03): optional BatchNorm
        self.node_norm = torch.nn.BatchNorm1d(self.n_node_features, dtype=dtype) if cfg.input_norm else None
        self.edge_norm = torch.nn.BatchNorm1d(self.n_edge_features, dtype=dtype) if cfg.input_norm else None
        self.layers = torch.nn.ModuleList(
            [_Interaction(cfg, self.n_edge_features, dtype) for _ in range(cfg.layers)])
        self.readout = mlp([c + 2, cfg.readout_hidden, cfg.readout_hidden, 1], dtype)
        # message path: edge lists + index_add_ (default), or dense (nodes, k) neighbour blocks summed over k
        # (the same function, tested to 1e-12; not faster on one CPU thread: docs/top_tagging.md, profile)
        self.dense_messages = False

    # ------------------------------------------------------------------ invariant geometry
    def _geometry(self, p: torch.Tensor, mask: torch.Tensor):
        keep = mask[..., None]
        p = torch.where(keep, p.to(torch.float64), 0.0)  # not p * mask: NaN * 0 is NaN
        if self.config.massless:
            p = massless(p)
        jet = p.sum(1)
        m2 = minkowski_dot(jet, jet)
        light = m2 <= 1e-10 * jet[:, 0] ** 2
        if light.any():
            i = int(light.nonzero()[0])
            raise ValueError(f"LorentzTagger: jet {i} has no rest frame (invariant mass^2 {float(m2[i]):.3g} "
                             f"GeV^2 at E = {float(jet[i, 0]):.6g} GeV): it needs two or more constituents "
                             "that are not all collinear")
        mass = m2.clamp_min(1e-6).sqrt()
        if self.config.rest_frame:
            p = torch.where(keep, to_rest_frame(p, jet, mass), 0.0)
            jet = torch.zeros_like(jet)
            jet[:, 0] = mass
        j2 = (mass**2)[:, None]
        z = minkowski_dot(p, jet[:, None, :]) / j2  # (B, n)
        kij = pair_products(p, self.config.massless) / j2[..., None]  # (B, n, n), cancellation-free
        zz = (z[:, :, None] * z[:, None, :]).clamp_min(1e-12)
        dij = kij / zz
        return p, mass, z, kij, dij

    def _neighbours(self, mask: torch.Tensor, dij: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(idx, ok)`` ``(B, n, k')``: slot ``idx[b, i, m]`` sends to ``i`` where ``ok`` (a real pair, not
        ``i`` itself); ``k' = min(k, n - 1)`` nearest in ``d_ij``, or every other slot (complete graph)."""
        b, n = mask.shape
        pair = mask[:, :, None] & mask[:, None, :] & ~torch.eye(n, dtype=torch.bool, device=mask.device)
        if self.config.k is None or self.config.k >= n - 1:
            others = torch.arange(n - 1, device=mask.device)
            idx = others + (others[None, :] >= torch.arange(n, device=mask.device)[:, None])  # j != i
            idx = idx.expand(b, n, n - 1)
        else:
            dist = dij.masked_fill(~pair, float("inf"))
            idx = dist.topk(self.config.k, dim=-1, largest=False).indices  # (B, n, k)
        return idx, torch.gather(pair, 2, idx)

    def _edges(self, mask: torch.Tensor, dij: torch.Tensor):
        """Edge list ``(batch, receiver, sender)`` of the same graph as :meth:`_neighbours`."""
        idx, ok = self._neighbours(mask, dij)
        bi, i, kk = ok.nonzero(as_tuple=True)
        return bi, i, idx[bi, i, kk]

    def forward(self, p: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        scal, mask, jet_feat = self.node_invariants(p, mask)
        rd = self.real_dtype
        count = mask.sum(1, keepdim=True).clamp_min(1).to(rd)
        pooled = torch.where(mask[..., None], scal.real, 0.0).sum(1) / count
        return self.readout(torch.cat([pooled, jet_feat], -1)).squeeze(-1)

    def node_invariants(self, p: torch.Tensor, mask: torch.Tensor
                        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(scalars, mask, jet_features)``: the scalar channels ``(batch, n, C)`` after the last layer
        (complex basis: complex, real up to rounding, see the module docstring; real basis: real), the bool
        mask and ``(log m_J, log n)``."""
        mask = check_constituents(p, mask, "LorentzTagger")
        b, n, _ = p.shape
        p, mass, z, kij, dij = self._geometry(p, mask)
        log_z = torch.log(z.clamp_min(1e-6))
        log_m = torch.log(mass / self.config.mass_scale)
        log_n = torch.log(mask.sum(1).clamp_min(1).to(torch.float64))
        # node invariants: log z, z, log m_J, log(number of constituents)
        node_feat = torch.stack([log_z, z, log_m[:, None].expand(b, n), log_n[:, None].expand(b, n)], -1)
        if self.dense_messages:
            idx, ok = self._neighbours(mask, dij)  # (B, n, k')
            e_k, e_d = torch.gather(kij, 2, idx), torch.gather(dij, 2, idx)
            z_i = log_z[:, :, None].expand_as(e_k)
            z_j = torch.gather(log_z, 1, idx.reshape(b, -1)).view_as(e_k)
            graph = ((idx + n * torch.arange(b, device=p.device)[:, None, None]).reshape(b * n, -1),
                     ok.reshape(b * n, -1))
        else:  # edge-list path (the same function; the tests compare them)
            bi, i, j = self._edges(mask, dij)
            e_k, e_d, z_i, z_j = kij[bi, i, j], dij[bi, i, j], log_z[bi, i], log_z[bi, j]
            graph = (bi * n + j, bi * n + i)  # (sender, receiver)
        edge_feat = torch.stack([torch.log(e_k.clamp_min(0) + 1e-6), torch.log(e_d.clamp_min(0) + 1e-4),
                                 e_d, z_i, z_j], -1)
        if self.dense_messages:
            edge_feat = edge_feat.reshape(b * n, -1, self.n_edge_features)
        rd = self.real_dtype
        p_hat = (p / mass[:, None, None]).to(self.q_t.dtype) @ self.q_t  # (B, n, 4) in the feature basis
        p_hat = p_hat.reshape(b * n, 4).to(self.feature_dtype)
        y = torch.cat([torch.ones_like(p_hat[:, :1]), p_hat], -1)  # (1, p̂) per node
        node_feat, edge_feat = node_feat.reshape(b * n, -1).to(rd), edge_feat.to(rd)
        if self.node_norm is not None:  # statistics of real constituents only: padding never enters
            real = mask.reshape(-1)
            node_feat = node_feat.masked_scatter(real[:, None], self.node_norm(node_feat[real]))
            if self.dense_messages:  # statistics of real edges only
                real = graph[1][..., None]
                edge_feat = edge_feat.masked_scatter(real, self.edge_norm(edge_feat[graph[1]]))
            else:
                edge_feat = self.edge_norm(edge_feat)
        h = self._embed(node_feat, p_hat)
        for layer in self.layers:
            step = layer.forward_dense if self.dense_messages else layer.forward
            h = step(h, y, edge_feat, *graph)
        c = self.config.channels
        return h[:, :c].reshape(b, n, c), mask, torch.stack([log_m, log_n], -1).to(rd)

    def _embed(self, node_feat: torch.Tensor, p_hat: torch.Tensor) -> torch.Tensor:
        """Initial features: ``C`` invariant scalars and ``C`` copies of ``p̂_i`` scaled by invariants."""
        c = self.config.channels
        f = self.node_mlp(node_feat)
        scalars = f[:, :c].to(self.feature_dtype)
        vectors = f[:, c:, None].to(self.feature_dtype) * p_hat[:, None, :]
        return torch.cat([scalars, vectors.reshape(len(f), 4 * c)], -1)


def count_parameters(model: torch.nn.Module) -> int:
    """Number of trainable scalars."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
