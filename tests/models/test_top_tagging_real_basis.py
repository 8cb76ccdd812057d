"""The LorentzTagger in the real 4-vector basis of (1/2,1/2) (issue 15), and reused generation chunks.

``basis="real"`` builds the features from the real :class:`~lie_nn.GenericRep` of the so(1,3)
generators on ``(t, x, y, z)``: real CGs, real weights and real float arithmetic.  These tests hold it
to the same standard as the complex form: exact Lorentz invariance in float64, permutation and padding
invariance, the fast message path equal to the per-edge tensor product, float32 robustness.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_top_tagging_model import ETA, fake_jets, lorentz_matrix, small_lorentz  # noqa: E402
from test_top_tagging_numerics import boost, collinear_jets, round32  # noqa: E402

from lie_nn import clebsch_gordan, four_vector_generators  # noqa: E402
from models.top_tagging.model import (  # noqa: E402
    LorentzTagger,
    LorentzTaggerConfig,
    representations,
)


@pytest.fixture(scope="module")
def jets() -> tuple[torch.Tensor, torch.Tensor]:
    x = fake_jets(4, 16, seed=7)
    return torch.tensor(x["p"]), torch.tensor(x["mask"])


def test_real_representation_and_its_minkowski_cg() -> None:
    """The real vector rep acts by the 4-vector generators; its invariant CG is the Minkowski metric."""
    scalar, vector = representations("real")
    np.testing.assert_array_equal(vector.algebra(), four_vector_generators())
    assert scalar.dim == 1 and vector.is_irreducible()
    c = clebsch_gordan(vector, vector, scalar)
    assert c.shape == (1, 4, 4, 1) and np.isrealobj(c)
    c = c[0, :, :, 0]
    np.testing.assert_allclose(c / c[0, 0], ETA, atol=1e-12)
    with pytest.raises(ValueError, match="basis"):
        representations("quaternion")
    with pytest.raises(ValueError, match="basis"):
        LorentzTagger(LorentzTaggerConfig(basis="quaternion"))


@pytest.mark.parametrize("kw", [{}, {"k": None}, {"rest_frame": False}, {"correlation": 1},
                                {"input_norm": True}, {"edge_scalars": True}, {"massless": True}])
@pytest.mark.parametrize("seed", [0, 1])
def test_real_basis_lorentz_invariance(jets, kw, seed) -> None:
    """float64: a random boost + rotation of every constituent leaves the logit fixed to ~1e-10."""
    p, mask = jets
    model = small_lorentz(basis="real", **kw)
    lam = torch.tensor(lorentz_matrix(np.random.default_rng(seed)))
    with torch.no_grad():
        y, y_boosted = model(p, mask), model(p @ lam.T, mask)
    assert y.abs().min() > 1e-6
    torch.testing.assert_close(y_boosted, y, rtol=1e-9, atol=1e-12)


def test_real_basis_features_are_real_and_used(jets) -> None:
    p, mask = jets
    model = small_lorentz(basis="real")
    assert not any(t.is_complex() for t in model.parameters())
    with torch.no_grad():
        scalars, m, _ = model.node_invariants(p, mask)
    assert scalars.dtype == torch.float64 and scalars[m].abs().max() > 1e-3
    # the vector channels matter: zeroing the p̂ attributes changes the output
    with torch.no_grad():
        y = model(p, mask)
        model.q_t.zero_()
        assert not torch.allclose(model(p, mask), y)


def test_real_basis_permutation_and_padding(jets) -> None:
    p, mask = jets
    model = small_lorentz(basis="real")
    with torch.no_grad():
        y = model(p, mask)
        perm = torch.randperm(p.shape[1], generator=torch.Generator().manual_seed(3))
        torch.testing.assert_close(model(p[:, perm], mask[:, perm]), y, rtol=1e-10, atol=1e-12)
        junk = torch.randn(p.shape[0], 5, 4, dtype=p.dtype) * 100
        padded = model(torch.cat([p, junk], 1), torch.cat([mask, torch.zeros(p.shape[0], 5, dtype=bool)], 1))
        torch.testing.assert_close(padded, y, rtol=1e-10, atol=1e-12)
        noisy = torch.where(mask[..., None], p, torch.full_like(p, float("nan")))
        torch.testing.assert_close(model(noisy, mask), y, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(model(p[1:2], mask[1:2]), y[1:2], rtol=1e-10, atol=1e-12)


def test_real_basis_float32_training_step_and_rounded_boosts() -> None:
    """float32: finite gradients in every weight; massless mode moves < 1e-5 under float32-rounded boosts."""
    p, mask = collinear_jets()
    torch.manual_seed(0)
    model = LorentzTagger(LorentzTaggerConfig(basis="real", massless=True))
    out = model(torch.from_numpy(p).float(), mask)
    assert out.dtype == torch.float32
    out.sum().backward()
    assert all(t.grad is not None and torch.isfinite(t.grad).all() for t in model.parameters())
    model.eval()
    with torch.no_grad():
        ref = torch.sigmoid(model(torch.from_numpy(p), mask))
        for rapidity in (0.0, 2.0):
            moved = torch.sigmoid(model(round32(p @ boost(rapidity, 11).T), mask))
            assert float((moved - ref).abs().max()) < 1e-5


def test_real_and_complex_basis_have_the_same_parameter_count() -> None:
    """Same architecture, other basis: the weights are in one-to-one correspondence."""
    real = LorentzTagger(LorentzTaggerConfig(basis="real"))
    cplx = LorentzTagger(LorentzTaggerConfig(basis="complex"))
    assert [t.shape for t in real.parameters()] == [t.shape for t in cplx.parameters()]


# ------------------------------------------------------------------ reused chunks (60k test set)
def test_larger_data_set_reuses_the_chunks_of_a_smaller_one(tmp_path, monkeypatch) -> None:
    """--reuse copies a finished set's chunks: only the new chunks run, and the small set is a prefix."""
    from test_top_tagging_data import synthetic_arrays

    from models.top_tagging import data as tt_data
    from models.top_tagging.dataset import load_jets
    from models.top_tagging.generate import GenerationConfig

    calls: list[int] = []

    def fake_generate(label, seed, n_jets, config):
        calls.append(seed)
        arrays = synthetic_arrays(n_per_seed=n_jets, seeds=(seed,))
        arrays["label"][:] = label
        return arrays, 2 * n_jets

    monkeypatch.setattr(tt_data, "generate_jets", fake_generate)
    small = tmp_path / "small"
    tt_data.generate_dataset(small, n_jets=8, seed=3, workers=1, chunk_jets=2, progress=False)
    assert len(calls) == 4
    calls.clear()
    tt_data.generate_dataset(tmp_path / "big", n_jets=16, seed=3, workers=1, chunk_jets=2, progress=False,
                             reuse=[small])
    assert len(calls) == 4  # 8 chunks, 4 copied
    a, b = load_jets(small), load_jets(tmp_path / "big")
    for name in a:
        np.testing.assert_array_equal(b[name][:8], a[name])
    calls.clear()
    fresh = tmp_path / "fresh"
    tt_data.generate_dataset(fresh, n_jets=16, seed=3, workers=1, chunk_jets=2, progress=False)
    for name in a:
        np.testing.assert_array_equal(load_jets(fresh)[name], b[name])
    with pytest.raises(ValueError, match="other settings"):
        tt_data.generate_dataset(tmp_path / "nompi", n_jets=16, seed=3, workers=1, chunk_jets=2,
                                 config=GenerationConfig(mpi=False), progress=False, reuse=[small])


def test_input_norm_sees_only_real_constituents(jets) -> None:
    """BatchNorm of the invariant inputs: in training mode its statistics come from real constituents
    and edges only (extra padding changes nothing); after training steps (non-trivial running
    statistics) the eval-mode model is still exactly Lorentz invariant."""
    p, mask = jets
    model = small_lorentz(basis="real", input_norm=True).train()
    junk = torch.randn(p.shape[0], 5, 4, dtype=p.dtype) * 100
    padded_p = torch.cat([p, junk], 1)
    padded_mask = torch.cat([mask, torch.zeros(p.shape[0], 5, dtype=bool)], 1)
    with torch.no_grad():
        torch.testing.assert_close(model(padded_p, padded_mask), model(p, mask), rtol=1e-10, atol=1e-12)
    assert float(model.node_norm.running_mean.abs().max()) > 0.1  # the statistics moved
    model.eval()
    lam = torch.tensor(lorentz_matrix(np.random.default_rng(4)))
    with torch.no_grad():
        y = model(p, mask)
        torch.testing.assert_close(model(p @ lam.T, mask), y, rtol=1e-9, atol=1e-12)
        torch.testing.assert_close(model(padded_p, padded_mask), y, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("basis", ["real", "complex"])
def test_edge_scalars_weights_read_both_ends(jets, basis) -> None:
    """edge_scalars: w_ij = MLP([e_ij, s_i, s_j]) with s the (0,0) channels (receiver i, sender j), and
    the model stays exactly invariant in both bases."""
    torch.manual_seed(0)
    model = small_lorentz(basis=basis, edge_scalars=True)
    layer = model.layers[0]
    n, e, c = 6, 15, layer.channels
    dtype = torch.float64 if basis == "real" else torch.complex128
    h = torch.randn(n, layer.tp.dim_in1, dtype=dtype)
    sender, receiver = torch.randint(0, n, (e,)), torch.randint(0, n, (e,))
    feat = torch.randn(e, LorentzTagger.n_edge_features, dtype=torch.float64)
    s = h[:, :c].real
    full = torch.cat([feat, s[receiver], s[sender]], 1)
    first = layer.edge_mlp[0]
    hidden = first.weight.shape[0]
    w = torch.cat([first.weight, layer.scalar_proj.weight[:hidden], layer.scalar_proj.weight[hidden:]], 1)
    with torch.no_grad():
        reference = layer.edge_mlp[1:](full @ w.T + first.bias)
        torch.testing.assert_close(layer.edge_weights(h, feat, sender, receiver), reference)
    p, mask = jets
    lam = torch.tensor(lorentz_matrix(np.random.default_rng(2)))
    with torch.no_grad():
        torch.testing.assert_close(model(p @ lam.T, mask), model(p, mask), rtol=1e-9, atol=1e-12)


def test_reuse_refuses_chunks_of_other_generator_versions(tmp_path, monkeypatch) -> None:
    """A chunk seed gives other events under another Pythia / FastJet version: --reuse refuses a set
    whose manifest records other generator versions than the installed ones (one clear error)."""
    import json

    from test_top_tagging_data import synthetic_arrays

    from models.top_tagging import data as tt_data

    def fake_generate(label, seed, n_jets, config):
        arrays = synthetic_arrays(n_per_seed=n_jets, seeds=(seed,))
        arrays["label"][:] = label
        return arrays, n_jets

    monkeypatch.setattr(tt_data, "generate_jets", fake_generate)
    small = tmp_path / "small"
    tt_data.generate_dataset(small, n_jets=8, seed=3, workers=1, chunk_jets=2, progress=False)
    manifest = json.loads((small / "manifest.json").read_text())
    assert tt_data.reuse_chunks(tmp_path / "cache_ok", small, tt_data.GenerationConfig()) == 4
    manifest["versions"]["pythia8mc"] = "8.0.0-other"
    (small / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match=r"8\.0\.0-other.*cannot reuse it"):
        tt_data.generate_dataset(tmp_path / "big", n_jets=16, seed=3, workers=1, chunk_jets=2,
                                 progress=False, reuse=[small])
    assert not list((tmp_path / "big" / ".chunks").glob("*.npz"))  # nothing copied


def test_resume_accepts_a_run_made_before_the_new_options(tmp_path) -> None:
    """A complex-basis run made before issue 15 recorded no basis / input_norm / edge_scalars: --resume
    with --basis complex (what they did) continues it; asking for the real basis is still refused."""
    import json

    from test_top_tagging_model import write_fake_dataset

    from models.common.checkpoint import load_checkpoint, save_state
    from models.top_tagging.train import load_model, main

    data = write_fake_dataset(tmp_path / "data", n_per_split=16, n=10)
    out = tmp_path / "old"
    argv = ["--model", "lorentz", "--data", str(data), "--epochs", "2", "--batch-size", "8", "--channels",
            "2", "--n-constituents", "10", "--out", str(out), "--quiet", "--threads", "1",
            "--basis", "complex"]
    main([*argv, "--stop-after", "1"])
    new_keys = ("basis", "input_norm", "edge_scalars")
    state = load_checkpoint(out / "checkpoint.pt")
    for key in new_keys:  # as session 1 wrote it
        del state["identity"]["model_config"][key]
    save_state(out / "checkpoint.pt", state)
    run = json.loads((out / "run.json").read_text())
    for key in new_keys:
        del run["identity"]["model_config"][key]
    (out / "run.json").write_text(json.dumps(run))
    with pytest.raises(ValueError, match="basis"):
        main([*argv[:-1], "real", "--resume"])
    main([*argv, "--resume"])
    assert len((out / "history.jsonl").read_text().splitlines()) == 2
    config = json.loads((out / "config.json").read_text())
    assert config["model_config"]["basis"] == "complex"
    # its config.json as session 1 wrote it still loads (weights_only) as the complex-basis model
    jets = fake_jets(3, 10, seed=1)
    p, mask = torch.tensor(jets["p"]).float(), torch.tensor(jets["mask"])
    before = load_model(out)(p, mask)
    for key in new_keys:
        del config["model_config"][key]
    (out / "config.json").write_text(json.dumps(config))
    old = load_model(out)
    assert old.config.basis == "complex" and not old.config.input_norm
    torch.testing.assert_close(old(p, mask), before)
