"""LorentzNet (ours, from the paper) and the peer adapters on tiny synthetic jets (models/top_tagging)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_top_tagging_model import fake_jets, lorentz_matrix, write_fake_dataset  # noqa: E402

from models.top_tagging.baseline import DeepSetsConfig, DeepSetsTagger  # noqa: E402
from models.top_tagging.lorentznet import LorentzNet, LorentzNetConfig  # noqa: E402
from models.top_tagging.peers import PACKAGES, PEERS, PeerConfig, build_peer  # noqa: E402

TINY = PeerConfig(width=8, blocks=1, latent=8, heads=2)


@pytest.fixture(scope="module")
def jets() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    x = fake_jets(6, 12, seed=4)
    p = x["p"].copy()
    p[..., 0] = np.sqrt(p[..., 0] ** 2 + 0.14**2) * x["mask"]  # massive constituents
    return torch.tensor(p), torch.tensor(x["mask"]), torch.tensor(x["label"], dtype=torch.float64)


def small_lorentznet() -> LorentzNet:
    torch.manual_seed(0)
    return LorentzNet(LorentzNetConfig(hidden=8, layers=3, c_weight=0.1), dtype=torch.float64).eval()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lorentznet_is_lorentz_invariant(jets, seed) -> None:
    """Random boosts and rotations (|θ| ~ 0.7) change the float64 logit by < 1e-9 (relative)."""
    p, mask, _ = jets
    model = small_lorentznet()
    lam = torch.tensor(lorentz_matrix(np.random.default_rng(seed)))
    with torch.no_grad():
        y, y_boosted = model(p, mask), model(p @ lam.T, mask)
    assert y.std() > 1e-6  # the jets are told apart
    torch.testing.assert_close(y_boosted, y, rtol=1e-9, atol=1e-11)


def test_lorentznet_vectors_move_and_matter(jets) -> None:
    """The 4-vector update is used: zeroing its scale changes the output (the test above is not vacuous)."""
    p, mask, _ = jets
    model = small_lorentznet()
    with torch.no_grad():
        y = model(p, mask)
        model.config.c_weight = 0.0
        for block in model.blocks:
            block.c_weight = 0.0
        assert not torch.allclose(model(p, mask), y, rtol=1e-6, atol=0)


def test_lorentznet_permutation_and_padding(jets) -> None:
    p, mask, _ = jets
    model = small_lorentznet()
    perm = torch.randperm(p.shape[1], generator=torch.Generator().manual_seed(0))
    padded_p = torch.cat([p, torch.full_like(p[:, :3], float("nan"))], 1)
    padded_m = torch.cat([mask, torch.zeros_like(mask[:, :3])], 1)
    with torch.no_grad():
        y = model(p, mask)
        torch.testing.assert_close(model(p[:, perm], mask[:, perm]), y, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(model(padded_p, padded_m), y, rtol=1e-10, atol=1e-12)


def _peer(kind: str) -> torch.nn.Module:
    pytest.importorskip(PACKAGES[kind][0])
    torch.manual_seed(0)
    return build_peer(kind, TINY)


@pytest.mark.parametrize("kind", sorted(PEERS))
def test_peer_forward_backward(jets, kind) -> None:
    """Every adapter gives finite logits, a finite loss and a gradient on its own network's weights."""
    p, mask, label = jets
    model = _peer(kind).train()
    logits = model(p, mask)
    assert logits.shape == (p.shape[0],) and torch.isfinite(logits).all()
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, label.to(logits.dtype))
    loss.backward()
    grads = [q.grad for name, q in model.named_parameters() if name.startswith("net.") and q.grad is not None]
    assert grads and any(float(g.abs().sum()) > 0 for g in grads)


@pytest.mark.parametrize("kind", sorted(PEERS))
def test_peer_ignores_padding(jets, kind) -> None:
    p, mask, _ = jets
    model = _peer(kind).eval()
    padded_p = torch.cat([p, torch.zeros_like(p[:, :4])], 1)
    padded_m = torch.cat([mask, torch.zeros_like(mask[:, :4])], 1)
    with torch.no_grad():
        torch.testing.assert_close(model(padded_p, padded_m), model(p, mask), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", ["lgatr", "pelican"])
def test_lorentz_peers_are_invariant(jets, kind) -> None:
    """The Lorentz-equivariant peers are invariant (float32 nets: to ~1e-4) under a boost + rotation."""
    p, mask, _ = jets
    model = _peer(kind).eval()
    lam = torch.tensor(lorentz_matrix(np.random.default_rng(3), scale=0.3))
    with torch.no_grad():
        y, y_boosted = model(p, mask), model(p @ lam.T, mask)
    torch.testing.assert_close(y_boosted, y, rtol=1e-3, atol=1e-3)


def test_every_model_gets_the_same_jet_features(jets) -> None:
    """Deep Sets, LorentzNet and the peers' shared head read exactly (log m_J, log n) besides their latent:
    changing only those two inputs changes the output."""
    p, mask, _ = jets
    deepsets = DeepSetsTagger(DeepSetsConfig(hidden=8, latent=8), dtype=torch.float64).eval()
    assert deepsets.f[0].in_features == 8 + 2
    assert small_lorentznet().readout[0].in_features == 8 + 2
    for kind in ("pelican",) if "pelican" in PEERS else ():
        pytest.importorskip(PACKAGES[kind][0])
        assert build_peer(kind, TINY).head.mlp[0].in_features == TINY.latent + 2
    with torch.no_grad():
        y = deepsets(p, mask)
        import models.top_tagging.baseline as baseline

        original = baseline.jet_features
        baseline.jet_features = lambda q, m: original(q, m) + 1.0
        try:
            assert not torch.allclose(deepsets(p, mask), y)
        finally:
            baseline.jet_features = original


def test_unknown_peer_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown peer"):
        build_peer("nonsense")


@pytest.mark.parametrize("kind", ["lorentznet", "pelican"])
def test_training_cli_runs_new_models(tmp_path, kind) -> None:
    if kind in PACKAGES:
        pytest.importorskip(PACKAGES[kind][0])
    from models.top_tagging.train import main

    data = write_fake_dataset(tmp_path / "data", n_per_split=16, n=10)
    out = tmp_path / kind
    main(["--model", kind, "--data", str(data), "--epochs", "1", "--batch-size", "8", "--width", "8",
          "--blocks", "1", "--n-constituents", "10", "--out", str(out), "--quiet", "--threads", "1"])
    assert (out / "best.pt").is_file() and (out / "test_metrics.json").is_file()


def test_benchmark_cli_trains_scores_and_skips_finished_runs(tmp_path, capsys) -> None:
    from models.top_tagging.benchmark import main

    data = write_fake_dataset(tmp_path / "data", n_per_split=16, n=10)
    prefix = str(tmp_path / "runs" / "b")
    argv = ["--data", str(data), "--test", str(data), "--models", "deepsets", "--epochs", "1",
            "--prefix", prefix, "--bootstrap", "5", "--max-train", "8", "12",
            "--plot", str(tmp_path / "roc.png"), "--curve", str(tmp_path / "curve.png")]
    main(argv)
    table = (tmp_path / "runs" / "b_table.md").read_text()
    assert "| deepsets | b_deepsets_n8_s0 |" in table and "| deepsets | b_deepsets_n12_s0 |" in table
    rows = json.loads((tmp_path / "runs" / "b_compare.json").read_text())["rows"]
    assert sorted(r["n_train"] for r in rows) == [8, 12]
    assert all(r["n_jets"] == 48 and r["auc_err"] > 0 for r in rows)
    assert (tmp_path / "roc.png").stat().st_size > 0 and (tmp_path / "curve.png").stat().st_size > 0
    capsys.readouterr()
    main(argv)  # finished runs are not trained again
    assert "train " not in capsys.readouterr().err
    rows_again = json.loads((tmp_path / "runs" / "b_compare.json").read_text())["rows"]
    assert rows_again == rows  # scores of unchanged runs are reused, not recomputed


def test_benchmark_summary_over_seeds_and_tuned_lorentz(tmp_path, capsys) -> None:
    """A PLAN name that is not a train.py model (lorentz_tuned) trains its model; --report names the
    tables; the summary has one row per group of seeds (mean ± spread); --max-train above the split
    size means the whole split."""
    from models.top_tagging.benchmark import main

    data = write_fake_dataset(tmp_path / "data", n_per_split=16, n=10)
    prefix = str(tmp_path / "runs" / "b")
    main(["--data", str(data), "--test", str(data), "--models", "lorentz_tuned", "deepsets", "--epochs", "1",
          "--seeds", "0", "1", "--prefix", prefix, "--report", prefix + "_other", "--bootstrap", "5",
          "--max-train", "100"])  # more than the 16 training jets: the whole split, runs named nall
    config = json.loads((tmp_path / "runs" / "b_lorentz_tuned_nall_s1" / "config.json").read_text())
    assert config["model"] == "lorentz" and config["model_config"]["basis"] == "real"
    summary = (tmp_path / "runs" / "b_other_summary.md").read_text().splitlines()
    assert len(summary) == 4 and "| lorentz | b_lorentz_tuned_nall (2) |" in summary[2]
    assert "| deepsets | b_deepsets_nall (2) |" in summary[3]
    assert not (tmp_path / "runs" / "b_table.md").exists()


def test_mass_window_reference(tmp_path) -> None:
    from models.top_tagging.compare import mass_window_row

    data = write_fake_dataset(tmp_path / "data", n_per_split=16, n=10)
    row = mass_window_row(data, replicas=5)
    assert row["n_params"] == 0 and 0.0 <= row["auc"] <= 1.0 and row["n_jets"] == 48


def test_boost_probe_on_a_trained_run(tmp_path) -> None:
    """The probe reports float64 invariance of a Lorentz model and the lack of it for Deep Sets."""
    from models.top_tagging.compare import boost_probe
    from models.top_tagging.train import main

    data = write_fake_dataset(tmp_path / "data", n_per_split=16, n=10)
    for kind in ("lorentznet", "deepsets"):
        main(["--model", kind, "--data", str(data), "--epochs", "1", "--batch-size", "8", "--width", "8",
              "--blocks", "1", "--hidden", "8", "--n-constituents", "10", "--out", str(tmp_path / kind),
              "--quiet", "--threads", "1"])
    assert boost_probe(tmp_path / "lorentznet", data, 1.0, n_jets=16)["float64"] < 1e-6
    assert boost_probe(tmp_path / "deepsets", data, 1.0, n_jets=16)["float64"] > 1e-5


def test_summary_table_says_which_error_each_row_shows() -> None:
    """Several seeds: mean ± their standard deviation (ddof 1), labelled so; one seed: its bootstrap error,
    labelled bootstrap -- the two kinds of ± are never mixed up silently in one table."""
    from models.top_tagging.compare import summary_table

    def row(run: str, auc: float, auc_err: float) -> dict:
        return {"run": run, "model": "m", "n_params": 10, "epochs": 3, "inference_jets_per_cpu_s": 5.0,
                "accuracy": 0.9, "accuracy_err": 0.001, "auc": auc, "auc_err": auc_err,
                "rejection_0.3": 100.0, "rejection_0.3_err": 7.0, "rejection_0.5": 50.0,
                "rejection_0.5_err": 3.0}

    rows = [row("a_s0", 0.9700, 0.0005), row("a_s1", 0.9720, 0.0005), row("a_s2", 0.9740, 0.0005),
            row("b_s0", 0.9600, 0.0007)]
    head, _, a, b = summary_table(rows).splitlines()
    assert "± is" in head
    assert "| a (3) | sd over 3 seeds |" in a and "0.9720 ± 0.0020" in a and "100 ± 0" in a
    assert "| b (1) | bootstrap |" in b and "0.9600 ± 0.0007" in b and "100 ± 7" in b


def test_benchmark_runs_each_run_once(tmp_path) -> None:
    """Two --max-train sizes above the split (both mean the whole split) and a repeated seed name the same
    run: it is trained and scored once, so the summary does not count one run as several seeds."""
    from models.top_tagging.benchmark import main

    data = write_fake_dataset(tmp_path / "data", n_per_split=16, n=10)
    prefix = str(tmp_path / "runs" / "b")
    main(["--data", str(data), "--test", str(data), "--models", "deepsets", "--epochs", "1",
          "--seeds", "0", "0", "--prefix", prefix, "--bootstrap", "5", "--max-train", "100", "200"])
    table = (tmp_path / "runs" / "b_table.md").read_text().splitlines()
    summary = (tmp_path / "runs" / "b_summary.md").read_text().splitlines()
    assert len(table) == 3 and len(summary) == 3
    assert "| b_deepsets_nall (1) | bootstrap |" in summary[2]


def test_paired_difference_counts_the_shared_test_set_error(tmp_path) -> None:
    """Identical groups differ by exactly 0; the error of a real difference exceeds the seed error alone,
    because the shared test set's sampling error is added; unscored runs give one clear error."""
    from models.common.io import DataError
    from models.top_tagging.compare import point_metrics
    from models.top_tagging.paired import load_scores, paired_difference

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 3000)
    a = [y + rng.normal(0, 0.6, y.size) for _ in range(3)]
    b = [y + rng.normal(0, 0.9, y.size) for _ in range(3)]
    same = paired_difference(y, a, a, replicas=10)
    assert all(d == 0.0 for d, _ in same.values())
    d, err = paired_difference(y, a, b, replicas=30)["auc"]
    seed_only = np.sqrt(sum(np.var([point_metrics(y, s)["auc"] for s in g], ddof=1) / 3 for g in (a, b)))
    assert d > 0 and err > seed_only
    with pytest.raises(ValueError, match="same jets"):
        paired_difference(y[:-1], a, b)
    with pytest.raises(DataError, match="run models.top_tagging.compare"):
        load_scores(tmp_path / "run", "data/top_tagging_test60k")


def test_compare_cli_draws_one_curve_from_runs_of_two_data_sets(tmp_path, capsys) -> None:
    """``compare --curve --summary`` joins runs trained on different data sets (the 1k-6k points of the
    8k set and the 16k-32k points of the 40k set) into one data-efficiency plot and seed-mean table."""
    from models.top_tagging.benchmark import main as bench
    from models.top_tagging.compare import main

    small = write_fake_dataset(tmp_path / "small", n_per_split=12, n=10)
    large = write_fake_dataset(tmp_path / "large", n_per_split=20, n=10)
    for data, name in ((small, "s"), (large, "l")):
        bench(["--data", str(data), "--test", str(small), "--models", "deepsets", "--epochs", "1",
               "--prefix", str(tmp_path / name), "--seeds", "0", "1", "--skip-score"])
    runs = [str(tmp_path / f"{n}_deepsets_nall_s{s}") for n in "sl" for s in (0, 1)]
    main([*runs, "--data", str(small), "--bootstrap", "5", "--out", str(tmp_path / "rows.json"),
          "--curve", str(tmp_path / "curve.png"), "--summary", str(tmp_path / "summary.md")])
    rows = json.loads((tmp_path / "rows.json").read_text())["rows"]
    assert sorted(r["n_train"] for r in rows) == [12, 12, 20, 20]
    assert (tmp_path / "curve.png").stat().st_size > 0
    summary = (tmp_path / "summary.md").read_text().splitlines()
    assert len(summary) == 4 and "s_deepsets_nall (2)" in summary[2] and "l_deepsets_nall (2)" in summary[3]
