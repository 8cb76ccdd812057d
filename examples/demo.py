"""lie_nn tour: name a group and its irreps, get certified representation theory, build a layer.

Run with ``make demo`` (or ``python examples/demo.py`` inside the venv).  Every number printed is
computed here; residuals are max |(X1⊗1 + 1⊗X2) C - C X3| over all generators.
"""

from __future__ import annotations

import time

import numpy as np
import torch

import lie_nn as lnn
from lie_nn.testing import assert_equivariant, intertwining_residual


def section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 70 - len(title)))


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def show_decomposition(ir1: lnn.Irrep, ir2: lnn.Irrep) -> None:
    terms = ir1 * ir2
    print(f"{ir1} ⊗ {ir2} = " + " + ".join(str(t) for t in terms))
    for term in terms:
        C, seconds = timed(lnn.clebsch_gordan, ir1, ir2, term.ir)
        residual = intertwining_residual(C, ir1, ir2, term.ir)
        print(f"   -> {term.ir}: CG shape {C.shape}, residual {residual:.1e}, {1e3 * seconds:.1f} ms")


def rotation_groups() -> None:
    section("SO(3) / O(3): exact Clebsch–Gordan coefficients in the real basis")
    C, seconds = timed(lnn.clebsch_gordan, lnn.SO3(6), lnn.SO3(6), lnn.SO3(12))
    print(f"SO3(6) ⊗ SO3(6) -> SO3(12): shape {C.shape}, "
          f"first call {1e3 * seconds:.2f} ms (computed, or read from the disk cache)")
    exact = lnn.clebsch_gordan_exact(lnn.SO3(1), lnn.SO3(1), lnn.SO3(0))
    print(f"exact SO3(1)⊗SO3(1)->SO3(0), entry [0,0,0,0] = {exact[0, 0, 0, 0]}")
    show_decomposition(lnn.O3(1, -1), lnn.O3(1, -1))


def su3() -> None:
    section("SU(3): outer multiplicities (8 ⊗ 8 contains the 8 twice)")
    eight = lnn.SUN((2, 1, 0))
    show_decomposition(eight, eight)
    C = lnn.clebsch_gordan(eight, eight, eight)
    overlap = np.einsum("mijk,nijk->mn", C.conj(), C) / eight.dim
    print(f"   the two 8-copies are orthonormal: overlap matrix =\n{np.round(overlap.real, 12)}")


def lorentz() -> None:
    section("Lorentz group SO(1,3): boosts are non-unitary, CGs still exact")
    vector = lnn.SO13("1/2", "1/2")
    show_decomposition(vector, vector)
    minkowski = lnn.GenericRep(lnn.four_vector_generators(), label="4-vector")
    terms, Q = lnn.decompose(minkowski, vector.iterator())
    print(f"the real 4-vector representation decomposes as {[str(t) for t in terms]} "
          f"(change of basis {Q.shape})")


def product_basis() -> None:
    section("MACE product basis: Sym^3(0e + 1o + 2e + 3o) restricted to 0e + 1o")
    rep = [lnn.O3(0, 1), lnn.O3(1, -1), lnn.O3(2, 1), lnn.O3(3, -1)]
    rtp, seconds = timed(
        lambda: lnn.reduced_symmetric_tensor_product(rep, 3, filter_ir_out=[lnn.O3(0, 1), lnn.O3(1, -1)])
    )
    for mul_ir, Q in rtp:
        print(f"   {mul_ir}: basis {Q.shape}")
    print(f"   computed in {seconds:.2f} s")


def layer() -> None:
    section("A torch layer, property-tested with lie_nn.testing")
    from lie_nn.nn import ChannelwiseTensorProduct

    O3 = lnn.O3
    irreps_x = lnn.Irreps([(8, O3(0, 1)), (8, O3(1, -1))])
    irreps_sh = lnn.Irreps([(1, O3(0, 1)), (1, O3(1, -1)), (1, O3(2, 1))])
    tp = ChannelwiseTensorProduct(irreps_x, irreps_sh, dtype=torch.float64)
    error = assert_equivariant(tp, (irreps_x, irreps_sh), tp.irreps_out)
    print(f"ChannelwiseTensorProduct {irreps_x} ⊗ {irreps_sh} -> {tp.irreps_out}")
    print(f"   equivariance error under random rotations and reflections: {error:.1e}")


def main() -> None:
    rotation_groups()
    su3()
    lorentz()
    product_basis()
    layer()
    section("cache")
    print(lnn.cache_info())


if __name__ == "__main__":
    main()
