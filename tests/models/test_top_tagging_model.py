"""Tests of the top-tagging models, metrics and training CLI (models/top_tagging)."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from lie_nn import SO13, clebsch_gordan, four_vector_generators
from models.common.io import read_history
from models.top_tagging import metrics
from models.top_tagging.baseline import DeepSetsConfig, DeepSetsTagger
from models.top_tagging.model import (
    LorentzTagger,
    LorentzTaggerConfig,
    minkowski_dot,
    to_rest_frame,
    vector_to_so13,
)

ETA = np.diag([1.0, -1.0, -1.0, -1.0])


# --------------------------------------------------------------------------------------- helpers
def lorentz_matrix(rng: np.random.Generator, scale: float = 0.7) -> np.ndarray:
    """A random element of SO(1,3)+ as exp(Σ θ_a X_a) with rotations and boosts."""
    theta = rng.normal(size=6) * scale
    generator = torch.from_numpy(np.einsum("a,aij->ij", theta, four_vector_generators()))
    return torch.linalg.matrix_exp(generator).numpy()


def fake_jets(n_jets: int, n: int, seed: int = 0, top_fraction: float = 0.5) -> dict[str, np.ndarray]:
    """Collinear-ish massless sprays around a random axis at pT ~ 600 GeV; tops are wider (3 prongs)."""
    rng = np.random.default_rng(seed)
    label = (rng.random(n_jets) < top_fraction).astype(np.int8)
    counts = rng.integers(4, n + 1, size=n_jets)
    p = np.zeros((n_jets, n, 4))
    for j in range(n_jets):
        k = counts[j]
        prongs = rng.normal(size=(3 if label[j] else 1, 2)) * 0.25
        centre = prongs[rng.integers(len(prongs), size=k)]
        deta, dphi = (centre + rng.normal(size=(k, 2)) * 0.05).T
        pt = np.sort(rng.exponential(600.0 / k, size=k) + 0.5)[::-1]
        eta0 = rng.uniform(-1.5, 1.5)
        px, py, pz = pt * np.cos(dphi), pt * np.sin(dphi), pt * np.sinh(eta0 + deta)
        p[j, :k] = np.stack([np.sqrt(px**2 + py**2 + pz**2), px, py, pz], -1)
    mask = np.arange(n)[None, :] < counts[:, None]
    return {"p": p, "mask": mask, "label": label, "count": counts}


def write_fake_dataset(path: Path, n_per_split: int = 48, n: int = 24) -> Path:
    """A data directory in the format of models/top_tagging/dataset.py (three seeds = three splits)."""
    from models.top_tagging.dataset import FORMAT_VERSION, MANIFEST_NAME, NPZ_NAME, write_npz_atomic

    parts = [fake_jets(n_per_split, n, seed=s) for s in (1, 2, 3)]
    arrays = {
        "constituents": np.concatenate([x["p"] for x in parts]).astype(np.float64),
        "mask": np.concatenate([x["mask"] for x in parts]),
        "n_constituents": np.concatenate([x["count"] for x in parts]).astype(np.int32),
        "label": np.concatenate([x["label"] for x in parts]).astype(np.int8),
        "seed": np.repeat(np.array([1, 2, 3], dtype=np.int64), n_per_split),
        "event": np.arange(3 * n_per_split, dtype=np.int64),
    }
    arrays["jet_p4"] = arrays["constituents"].sum(1)
    path.mkdir(parents=True, exist_ok=True)
    write_npz_atomic(path / NPZ_NAME, arrays)
    digest = hashlib.sha256((path / NPZ_NAME).read_bytes()).hexdigest()
    manifest = {"format_version": FORMAT_VERSION,
                "counts": {"top": int(arrays["label"].sum()), "qcd": int((arrays["label"] == 0).sum())},
                "splits": {"train": [1], "val": [2], "test": [3]},
                "files": {NPZ_NAME: {"sha256": digest}}}
    (path / MANIFEST_NAME).write_text(json.dumps(manifest))
    return path


def small_lorentz(**kw) -> LorentzTagger:
    torch.manual_seed(0)
    cfg = LorentzTaggerConfig(**{"channels": 6, "layers": 2, "correlation": 3, "k": 5, **kw})
    return LorentzTagger(cfg, dtype=torch.float64).eval()


@pytest.fixture(scope="module")
def jets() -> tuple[torch.Tensor, torch.Tensor]:
    x = fake_jets(4, 16, seed=7)
    return torch.tensor(x["p"]), torch.tensor(x["mask"])


# -------------------------------------------------------------------------- the 4-vector irrep
def test_four_vector_intertwiner_and_minkowski_metric() -> None:
    q = vector_to_so13()
    v = SO13("1/2", "1/2")
    np.testing.assert_allclose(v.algebra() @ q, q @ four_vector_generators(), atol=1e-12)
    assert abs(np.linalg.det(q)) > 1e-3
    # the invariant CG contracts two vectors to half their Minkowski product: real, not just invariant
    c = clebsch_gordan(v, v, SO13(0, 0))[0, :, :, 0]
    c = c / np.linalg.norm(c)  # normalised to |C|_F^2 = dim (0,0) = 1
    np.testing.assert_allclose(q.T @ c @ q, ETA / 2, atol=1e-12)


def test_generators_give_proper_orthochronous_lorentz_matrices() -> None:
    lam = lorentz_matrix(np.random.default_rng(0), scale=1.0)
    np.testing.assert_allclose(lam.T @ ETA @ lam, ETA, atol=1e-10)
    assert np.linalg.det(lam) == pytest.approx(1.0) and lam[0, 0] >= 1.0


def test_rest_frame_boost(jets) -> None:
    p, mask = jets
    jet = p.sum(1)
    mass = minkowski_dot(jet, jet).sqrt()
    rest = to_rest_frame(p, jet, mass)
    total = rest.sum(1)
    torch.testing.assert_close(total[:, 1:], torch.zeros_like(total[:, 1:]), atol=1e-9, rtol=0)
    torch.testing.assert_close(total[:, 0], mass, atol=0, rtol=1e-12)
    torch.testing.assert_close(minkowski_dot(rest, rest), minkowski_dot(p, p), atol=1e-8, rtol=0)


# ------------------------------------------------------------------------- the Lorentz tagger
@pytest.mark.parametrize("kw", [{}, {"k": None}, {"rest_frame": False}, {"correlation": 1}])
@pytest.mark.parametrize("seed", [0, 1])
def test_lorentz_invariance(jets, kw, seed) -> None:
    """The logit is invariant under a random boost + rotation of every constituent (float64)."""
    p, mask = jets
    model = small_lorentz(**kw)
    lam = torch.tensor(lorentz_matrix(np.random.default_rng(seed)))
    with torch.no_grad():
        y, y_boosted = model(p, mask), model(p @ lam.T, mask)
    assert y.abs().min() > 1e-6
    torch.testing.assert_close(y_boosted, y, rtol=1e-9, atol=1e-12)


def test_invariants_are_real_and_used(jets) -> None:
    p, mask = jets
    with torch.no_grad():
        scalars, m, _ = small_lorentz().node_invariants(p, mask)
    real = scalars.real[m]
    assert real.abs().max() > 1e-3
    assert scalars.imag[m].abs().max() <= 1e-12 * real.abs().max()


def test_lorentz_permutation_and_padding_invariance(jets) -> None:
    p, mask = jets
    model = small_lorentz()
    with torch.no_grad():
        y = model(p, mask)
        perm = torch.randperm(p.shape[1], generator=torch.Generator().manual_seed(3))
        torch.testing.assert_close(model(p[:, perm], mask[:, perm]), y, rtol=1e-10, atol=1e-12)
        junk = torch.randn(p.shape[0], 5, 4, dtype=p.dtype) * 100
        no = torch.zeros(p.shape[0], 5, dtype=torch.bool)
        padded = model(torch.cat([p, junk], 1), torch.cat([mask, no], 1))
        torch.testing.assert_close(padded, y, rtol=1e-10, atol=1e-12)
        # garbage in the masked-out slots of the original tensor changes nothing either
        noisy = torch.where(mask[..., None], p, torch.randn_like(p) * 50)
        torch.testing.assert_close(model(noisy, mask), y, rtol=1e-10, atol=1e-12)
        # each jet is processed independently of the rest of the batch
        torch.testing.assert_close(model(p[1:2], mask[1:2]), y[1:2], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("basis", "dtype"), [("complex", torch.complex128), ("real", torch.float64)])
def test_node_level_messages_equal_edge_level_tensor_product(basis: str, dtype: torch.dtype) -> None:
    """The layer's fast path (node-level product × edge weights) equals the per-edge product."""
    torch.manual_seed(0)
    layer = small_lorentz(basis=basis).layers[0]
    n, e = 7, 20
    h = torch.randn(n, layer.tp.dim_in1, dtype=dtype)
    y = torch.randn(n, layer.tp.dim_in2, dtype=dtype)
    sender, receiver = torch.randint(0, n, (e,)), torch.randint(0, n, (e,))
    feat = torch.randn(e, LorentzTagger.n_edge_features, dtype=torch.float64)
    weight = layer.edge_mlp(feat)
    reference = torch.zeros(n, layer.tp.dim_out, dtype=dtype).index_add_(
        0, receiver, layer.edge_messages(h, y, weight, sender))
    captured = {}
    hook = layer.lin_msg.register_forward_pre_hook(lambda mod, args: captured.setdefault("agg", args[0]))
    with torch.no_grad():
        layer(h, y, feat, sender, receiver)
    hook.remove()
    torch.testing.assert_close(captured["agg"] / layer.norm, reference.detach(), rtol=1e-12, atol=1e-12)


def test_lorentz_float32_forward_backward(jets) -> None:
    p, mask = jets
    model = LorentzTagger(LorentzTaggerConfig(channels=4, layers=1))
    y = model(p.float(), mask)
    assert y.dtype == torch.float32 and y.shape == (p.shape[0],)
    y.sum().backward()
    assert all(t.grad is not None and torch.isfinite(t.grad).all() for t in model.parameters())


def test_lorentz_bad_input() -> None:
    model = small_lorentz()
    with pytest.raises(ValueError, match="shape"):
        model(torch.zeros(2, 3, 3), torch.ones(2, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="mask"):
        model(torch.zeros(2, 3, 4), torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="k must"):
        LorentzTagger(LorentzTaggerConfig(k=0))


# ------------------------------------------------------------------------------------ baseline
def test_baseline_shapes_and_invariances(jets) -> None:
    p, mask = jets
    torch.manual_seed(0)
    model = DeepSetsTagger(DeepSetsConfig(hidden=16, latent=8), dtype=torch.float64)
    model(p, mask)  # one training-mode call to populate the normalisation statistics
    model.eval()
    with torch.no_grad():
        y = model(p, mask)
        assert y.shape == (p.shape[0],)
        perm = torch.randperm(p.shape[1], generator=torch.Generator().manual_seed(1))
        torch.testing.assert_close(model(p[:, perm], mask[:, perm]), y)
        padded = torch.cat([p, torch.randn(p.shape[0], 3, 4, dtype=p.dtype)], 1)
        no = torch.zeros(4, 3, dtype=torch.bool)
        torch.testing.assert_close(model(padded, torch.cat([mask, no], 1)), y)
        # not a Lorentz-invariant model: a boost changes its output
        lam = torch.tensor(lorentz_matrix(np.random.default_rng(0)))
        assert (model(p @ lam.T, mask) - y).abs().max() > 1e-6


# ------------------------------------------------------------------------------------- metrics
def test_metrics_perfect_inverted_and_constant() -> None:
    labels = np.array([0, 0, 0, 1, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    assert metrics.auc(labels, scores) == 1.0
    assert metrics.auc(labels, 1 - scores) == 0.0
    assert metrics.auc(labels, np.full(6, 0.5)) == 0.5
    assert metrics.accuracy(labels, scores) == 1.0
    assert metrics.background_rejection(labels, scores) == math.inf
    assert metrics.background_rejection(labels, np.full(6, 0.5)) == pytest.approx(1 / 0.3)


def test_metrics_against_brute_force() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, size=300)
    scores = np.round(rng.random(300) + 0.3 * labels, 1)  # many ties
    sig, bkg = scores[labels == 1], scores[labels == 0]
    pairs = (sig[:, None] > bkg[None, :]) + 0.5 * (sig[:, None] == bkg[None, :])
    assert metrics.auc(labels, scores) == pytest.approx(pairs.mean(), abs=1e-12)
    # random classifier on a large sample
    big = rng.integers(0, 2, size=20000)
    assert abs(metrics.auc(big, rng.random(20000)) - 0.5) < 0.02


def test_background_rejection_by_hand() -> None:
    # 10 signal and 10 background jets, distinct scores: signal efficiency 0.3 is reached at the third
    # signal jet, after which two background jets passed: eps_B = 0.2
    labels = np.array([1, 0, 1, 0, 1] + [1] * 7 + [0] * 8)
    scores = np.linspace(1.0, 0.0, len(labels))
    assert metrics.background_rejection(labels, scores, 0.3) == pytest.approx(5.0)
    assert metrics.background_rejection(labels, scores, 0.15) == pytest.approx(10.0)
    # a tie between a signal and a background jet is a diagonal ROC segment, interpolated linearly:
    # (eps_B, eps_S) goes from (0, 0.5) to (0.25, 1) at the tie, so eps_S = 0.75 has eps_B = 0.125
    tied = np.array([0.9, 0.5, 0.5, 0.1, 0.1, 0.1])
    assert metrics.background_rejection(np.array([1, 1, 0, 0, 0, 0]), tied, 0.75) == pytest.approx(8.0)


def test_metrics_bad_input() -> None:
    with pytest.raises(ValueError, match="both classes"):
        metrics.auc(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="equal length"):
        metrics.auc(np.array([0, 1]), np.array([0.5]))
    with pytest.raises(ValueError, match="NaN"):
        metrics.auc(np.array([0, 1]), np.array([0.5, np.nan]))
    with pytest.raises(ValueError, match="eps_s"):
        metrics.background_rejection(np.array([0, 1]), np.array([0.1, 0.9]), 0.0)


# ------------------------------------------------------------------------------- training CLI
def _train(tmp: Path, data: Path, name: str, *extra: str) -> dict:
    from models.top_tagging.train import parse_args, run

    argv = ["--data", str(data), "--out", str(tmp / name), "--batch-size", "16", "--quiet", *extra]
    return run(parse_args(argv))


def test_checkpoint_resume_round_trip(tmp_path: Path) -> None:
    from models.top_tagging.train import load_model

    data = write_fake_dataset(tmp_path / "data")
    common = ["--model", "deepsets", "--hidden", "16", "--n-constituents", "16"]
    full = _train(tmp_path, data, "full", *common, "--epochs", "2")
    assert _train(tmp_path, data, "split", *common, "--epochs", "2", "--stop-after", "1") == {
        "stopped_after_epoch": 1}
    with pytest.raises(FileExistsError):
        _train(tmp_path, data, "split", *common, "--epochs", "2")
    resumed = _train(tmp_path, data, "split", *common, "--epochs", "2", "--resume")
    for key in ("auc", "accuracy", "rejection_at_eps_s"):
        assert resumed[key] == full[key]
    a = torch.load(tmp_path / "full" / "checkpoint.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "split" / "checkpoint.pt", weights_only=True)["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    model = load_model(tmp_path / "split")
    assert isinstance(model, DeepSetsTagger)
    config = json.loads((tmp_path / "split" / "config.json").read_text())
    assert config["model"] == "deepsets" and config["n_params"] > 0
    saved = json.loads((tmp_path / "split" / "test_metrics.json").read_text())
    assert 0.0 <= saved["auc"] <= 1.0
    assert len(read_history(tmp_path / "split")) == 2
    with pytest.raises(ValueError, match="resume"):
        _train(tmp_path, data, "split", "--model", "deepsets", "--hidden", "8", "--epochs", "3", "--resume",
               "--n-constituents", "16")


def test_lorentz_training_smoke_and_plot(tmp_path: Path) -> None:
    from models.top_tagging.train import load_model

    data = write_fake_dataset(tmp_path / "data", n_per_split=32, n=16)
    result = _train(tmp_path, data, "lorentz", "--model", "lorentz", "--epochs", "1", "--channels", "4",
                    "--layers", "1", "--n-constituents", "12")
    assert result["model"] == "lorentz" and np.isfinite(result["auc"])
    model = load_model(tmp_path / "lorentz")
    assert isinstance(model, LorentzTagger) and model.config.channels == 4
    pytest.importorskip("matplotlib")
    out = metrics.plot_roc([tmp_path / "lorentz"], tmp_path / "roc.png")
    assert out.stat().st_size > 1000
    assert metrics.main(["history", str(tmp_path / "lorentz"), "--out", str(tmp_path / "h.png")]) == 0
    assert (tmp_path / "h.png").stat().st_size > 1000
    with pytest.raises(FileNotFoundError, match="history.json"):
        metrics.plot_history([tmp_path / "data"], tmp_path / "x.png")


def test_auc_standard_error_matches_bootstrap() -> None:
    rng = np.random.default_rng(0)
    labels = np.r_[np.ones(600, int), np.zeros(900, int)]
    scores = np.r_[rng.normal(1.5, 1.0, 600), rng.normal(0.0, 1.0, 900)]
    boot = []
    for _ in range(300):
        idx = np.r_[rng.integers(0, 600, 600), 600 + rng.integers(0, 900, 900)]  # stratified resample
        boot.append(metrics.auc(labels[idx], scores[idx]))
    se = metrics.auc_standard_error(labels, scores)
    assert se == pytest.approx(np.std(boot), rel=0.2)
    m = metrics.all_metrics(labels, scores)
    assert m["auc_stat_error"] == se
    assert m["n_background_passing"] == pytest.approx(900 / m["rejection_at_eps_s"])
    assert m["rejection_rel_stat_error"] == pytest.approx(m["n_background_passing"] ** -0.5)


def test_evaluate_cli_on_another_data_set(tmp_path: Path) -> None:
    from models.top_tagging.evaluate import evaluate_run, main
    from models.top_tagging.train import load_model, predict

    data = write_fake_dataset(tmp_path / "data", n_per_split=32, n=16)
    other = write_fake_dataset(tmp_path / "other", n_per_split=20, n=10)
    _train(tmp_path, data, "ds", "--model", "deepsets", "--hidden", "8", "--epochs", "1",
           "--n-constituents", "12")
    out, result = evaluate_run(tmp_path / "ds", other, None, progress=False)
    assert out == tmp_path / "ds" / "eval_other_all" and result["n_jets"] == 60 and result["split"] == "all"
    with np.load(out / "test_scores.npz") as f:
        labels, scores = f["label"], f["score"]
    # the same scores as predicting by hand with the run's number of constituents (12, padded set has 10)
    from models.top_tagging.train import load_split

    jets = load_split(str(other), None, 12, None)
    np.testing.assert_allclose(scores, predict(load_model(tmp_path / "ds"), jets, 64), rtol=1e-6)
    assert result["auc"] == pytest.approx(metrics.auc(labels, scores))
    pytest.importorskip("matplotlib")
    assert main([str(tmp_path / "ds"), "--data", str(other), "--split", "test", "--quiet",
                 "--plot", str(tmp_path / "roc.png")]) == 0
    assert (tmp_path / "roc.png").stat().st_size > 1000
    assert json.loads((tmp_path / "ds" / "eval_other_test" / "test_metrics.json").read_text())["n_jets"] == 20


def test_run_files_respect_umask(tmp_path: Path) -> None:
    import os
    import stat

    from models.common.io import write_json_atomic

    old = os.umask(0o022)
    try:
        write_json_atomic(tmp_path / "run" / "config.json", {"a": 1})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "run" / "config.json").stat().st_mode) == 0o644
    assert not list((tmp_path / "run").glob(".*"))
