"""Tests of the Irreps value object."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lie_nn._src.groups.o3 import O3
from lie_nn._src.groups.so3 import SO3
from lie_nn._src.groups.su2 import SU2
from lie_nn._src.groups.sun import SUN
from lie_nn._src.irrep import MulIrrep
from lie_nn._src.irreps import Irreps

o3_irreps = st.builds(O3, st.integers(0, 3), st.sampled_from([1, -1]))
o3_entries = st.lists(st.builds(MulIrrep, st.integers(0, 3), o3_irreps), max_size=5)


def test_construction_forms_agree():
    a = Irreps([(2, O3(0, 1)), MulIrrep(1, O3(1, -1)), O3(2, 1)])
    assert a == Irreps(a) == Irreps([MulIrrep(2, O3(0, 1)), MulIrrep(1, O3(1, -1)), MulIrrep(1, O3(2, 1))])
    assert hash(a) == hash(Irreps(a))
    assert Irreps(O3(1, 1)) == Irreps([(1, O3(1, 1))])
    assert (a.dim, len(a), a.num_irreps) == (10, 3, 4)
    assert a[1] == MulIrrep(1, O3(1, -1)) and a[1:] == Irreps([O3(1, -1), O3(2, 1)])
    assert list(a) == list(a.mul_irreps)
    assert str(a) == "2x0e+1x1o+1x2e" and repr(a) == f"Irreps('{a}')"  # e3nn-style O(3) labels
    assert Irreps().dim == 0 and str(Irreps()) == ""


def test_validation():
    with pytest.raises(TypeError, match="mixes groups"):
        Irreps([SO3(1), SU2(1)])
    with pytest.raises(TypeError, match="mixes groups"):
        Irreps([SUN((1, 0, 0)), SUN((1, 0, 0, 0))])
    with pytest.raises(TypeError):
        Irreps([(1, 2)])
    with pytest.raises(TypeError):
        Irreps([3.0])
    with pytest.raises(TypeError):
        Irreps(b"1x1o")
    with pytest.raises(ValueError, match="cannot parse"):
        Irreps("1x1q")
    with pytest.raises(ValueError):
        Irreps([(-1, SO3(1))])
    with pytest.raises(TypeError):
        Irreps([SO3(1)]) + Irreps([SU2(1)])
    with pytest.raises(ValueError, match="empty"):
        Irreps().algebra()


def test_from_string_round_trip():
    a = Irreps.from_string("2x0e + 1o+ 3x2e", O3.from_string)
    assert a == Irreps([(2, O3(0, 1)), (1, O3(1, -1)), (3, O3(2, 1))])
    assert Irreps.from_string(str(a), O3.from_string) == a
    b = Irreps([(2, SUN((2, 1, 0))), SUN((1, 0, 0))])
    assert Irreps.from_string(str(b), SUN.from_string) == b  # labels containing commas and brackets
    assert Irreps.from_string("  ", O3.from_string) == Irreps()
    with pytest.raises(ValueError):
        Irreps.from_string("2x", O3.from_string)
    with pytest.raises(ValueError):
        Irreps.from_string("2xq", O3.from_string)


def test_algebra_is_block_diagonal():
    a = Irreps([(2, O3(1, -1)), O3(0, 1), O3(2, -1)])
    X, D = a.algebra(), a.discrete_generators()
    assert X.shape == (3, 12, 12) and D.shape == (1, 12, 12)
    blocks = [O3(1, -1), O3(1, -1), O3(0, 1), O3(2, -1)]
    start = 0
    for ir in blocks:
        sl = slice(start, start + ir.dim)
        np.testing.assert_array_equal(X[:, sl, sl], ir.algebra())
        np.testing.assert_array_equal(D[:, sl, sl], ir.discrete_generators())
        start += ir.dim
    mask = np.zeros((12, 12), bool)
    for sl in a.slices():
        mask[sl, sl] = True
    assert not np.any(X[:, ~mask]) and not np.any(D[:, ~mask])
    assert a.slices() == [slice(0, 6), slice(6, 7), slice(7, 12)]
    # a Lie-algebra representation: commutators close with the same structure constants
    Y = O3(1, 1).algebra()
    f = np.linalg.lstsq(Y.reshape(3, -1).T, (Y[0] @ Y[1] - Y[1] @ Y[0]).ravel(), rcond=None)[0]
    np.testing.assert_allclose(X[0] @ X[1] - X[1] @ X[0], np.einsum("c,cij->ij", f, X), atol=1e-12)
    assert a.is_real and not Irreps([SU2(1)]).is_real
    assert Irreps([SU2("1/2")]).algebra().dtype == np.complex128


@given(o3_entries, o3_entries)
def test_add_simplify_sort_properties(x, y):
    a, b = Irreps(x), Irreps(y)
    assert (a + b).dim == a.dim + b.dim and (a + b)[: len(a)] == a
    assert a + list(y) == a + b and list(x) + b == a + b
    s = a.simplify()
    assert s.dim == a.dim and all(t.mul > 0 for t in s)
    assert all(s[i].ir != s[i + 1].ir for i in range(len(s) - 1))
    assert s.simplify() == s
    srt, perm = a.sort()
    assert sorted(perm) == list(range(len(a)))
    assert all(srt[k] == a[perm[k]] for k in range(len(a)))
    keys = [t.ir.sort_key() for t in srt]
    assert keys == sorted(keys)


def test_sort_is_stable_and_simplify_merges():
    a = Irreps([(1, O3(1, -1)), (2, O3(0, 1)), (3, O3(1, -1)), (0, O3(2, 1))])
    srt, perm = a.sort()
    assert perm == (1, 0, 2, 3)
    assert str(srt.simplify()) == "2x0e+4x1o"


# ------------------------------------------------------------------------------------ one liberal type
def test_every_constructor_form_gives_the_same_irreps():
    expected = Irreps([(8, O3(0, 1)), (4, O3(1, -1))])
    forms = ["8x0e + 4x1o", "8xO3(0e)+4xO3(1o)", " 8 x 0e+ 4x O3(1o) ", [(8, O3(0, 1)), (4, O3(1, -1))],
             [(8, "0e"), (4, "1o")], [MulIrrep(8, O3(0, 1)), "4x1o"], expected, tuple(expected)]
    for form in forms:
        assert Irreps(form) == expected, form
    assert Irreps(O3(1, -1)) == Irreps("1o") == Irreps(MulIrrep(1, O3(1, -1))) == Irreps((1, O3(1, -1)))
    assert Irreps("") == Irreps() == Irreps([])


@pytest.mark.parametrize("text, terms", [
    ("2xSU3(2,1,0) + SU3(0,0,0)", [(2, SUN((2, 1, 0))), (1, SUN((0, 0, 0)))]),
    ("SO13(1/2,1/2)", None),
    ("2xO3(1o)", [(2, O3(1, -1))]),
    ("3xSO3(1)xSU2(1/2) + SO3(0) x SU2(0)", None),
    ("SU2(3/2) + 2x SU2(0)", [(1, SU2("3/2")), (2, SU2(0))]),
])
def test_group_qualified_strings_round_trip(text, terms):
    irreps = Irreps(text)
    if terms is not None:
        assert irreps == Irreps(terms)
    assert Irreps(str(irreps)) == irreps and Irreps(repr(irreps)[8:-2]) == irreps
    assert hash(Irreps(str(irreps))) == hash(irreps)


def test_products_print_like_e3nn_and_stay_tuple_like():
    out = O3(1, -1) * O3(1, 1)
    assert isinstance(out, Irreps) and str(out) == "1x0o+1x1o+1x2o"
    assert out == (MulIrrep(1, O3(0, -1)), MulIrrep(1, O3(1, -1)), MulIrrep(1, O3(2, -1)))
    assert [t.ir for t in out] == [O3(0, -1), O3(1, -1), O3(2, -1)] and len(out) == 3
    assert str(SO3(1) * SO3(1)) == "1xSO3(0)+1xSO3(1)+1xSO3(2)"
    assert str(SUN((2, 1, 0)) * SUN((2, 1, 0))).startswith("1xSU3(0,0,0)+2xSU3(2,1,0)")


def test_arithmetic():
    a, b = Irreps("2x0e + 1o"), Irreps("1o")
    assert 2 * a == a * 2 == a + a == Irreps("2x0e+1o+2x0e+1o") and 0 * a == Irreps()
    assert a + "1e" == Irreps("2x0e+1o+1e") and "1e" + a == Irreps("1e+2x0e+1o")
    product = a * b
    assert product == Irreps("1x0e+1x1e+2x1o+1x2e")  # 2x(0e x 1o) + 1o x 1o, regrouped (0e<0o<1e<1o)
    assert product.dim == a.dim * b.dim
    assert a * O3(1, -1) == product and a * "1o" == product
    assert Irreps([SO3(1)]) * SO3(1) == Irreps(SO3(1) * SO3(1))
    with pytest.raises(ValueError):
        -1 * a
    assert a.count("0e") == 2 and a.count(O3(1, -1)) == 1 and a.count("2e") == 0
    assert "1o" in a and O3(0, 1) in a and "1e" not in a and MulIrrep(2, O3(0, 1)) in a
    assert a.remove_zero_multiplicities() == a and Irreps("0x0e+1o").remove_zero_multiplicities() == b
    assert Irreps("1o + 0e + 1o").regroup() == Irreps("0e + 2x1o")
    assert isinstance(a[:1], Irreps) and a[::-1] == Irreps("1o + 2x0e")


def test_immutable_hashable_picklable():
    import pickle

    a = Irreps("2x0e + 1o")
    with pytest.raises((AttributeError, TypeError)):
        a.foo = 1  # type: ignore[attr-defined]
    assert {a: 1}[Irreps("2x0e+1o")] == 1
    assert pickle.loads(pickle.dumps(a)) == a and type(pickle.loads(pickle.dumps(a))) is Irreps


def test_is_unitary():
    from lie_nn._src.groups.lorentz import SO13

    assert Irreps("2x0e + 1o").is_unitary() and Irreps([SU2("1/2"), SU2(1)]).is_unitary()
    assert Irreps([SUN((2, 1, 0))]).is_unitary()
    assert not Irreps([SO13("1/2", 0)]).is_unitary() and SO13(0, 0).is_unitary()
