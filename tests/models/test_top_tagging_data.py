"""Tests of the top-tagging data pipeline: storage, manifest and splits (numpy only) and, when the
optional pythia8mc / fastjet are installed, a tiny Monte Carlo generation."""

from __future__ import annotations

import doctest
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.common.io import sha256_file, write_json_atomic
from models.top_tagging import data as tt_data
from models.top_tagging import dataset as tt_dataset
from models.top_tagging import generate as tt_generate
from models.top_tagging.dataset import (
    ARRAY_SPECS,
    MANIFEST_NAME,
    NPZ_NAME,
    DatasetCorruptError,
    DatasetMissingError,
    chunk_seed,
    load_jets,
    load_manifest,
    plan_chunks,
    split_chunks,
    verify,
    write_npz_atomic,
)
from models.top_tagging.generate import GenerationConfig, daughters, delta_r, eta_of, hadronic_tops, pt_of

M = 200


@pytest.mark.parametrize("module", [tt_dataset, tt_generate, tt_data])
def test_doctests(module):
    assert doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0


# ---------------------------------------------------------------------------------- seeds and splits


def test_chunk_seeds_distinct_and_in_pythia_range():
    seeds = {chunk_seed(b, label, i) for b in (0, 1, 2, 44_999) for label in (0, 1) for i in (0, 1, 9_999)}
    assert len(seeds) == 4 * 2 * 3
    assert 1 <= min(seeds) and max(seeds) <= tt_generate.MAX_PYTHIA_SEED


@pytest.mark.parametrize("args", [(-1, 0, 0), (45_000, 0, 0), (1, 2, 0), (1, 0, 10_000), (1.5, 0, 0)])
def test_chunk_seed_rejects_bad_input(args):
    with pytest.raises(ValueError):
        chunk_seed(*args)


def test_plan_chunks_is_balanced_and_complete():
    chunks = plan_chunks(1003, 7, 250)
    for label in (0, 1):
        sizes = [c["n_jets"] for c in chunks if c["label"] == label]
        assert sizes == [250, 250, 250, 250, 3]
    assert len({c["seed"] for c in chunks}) == len(chunks)
    with pytest.raises(ValueError, match="chunk_jets"):
        plan_chunks(10, 1, 0)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 40), st.integers(0, 40),
       st.sampled_from([(0.8, 0.1, 0.1), (0.6, 0.2, 0.2), (1.0, 0.0, 0.0), (0.34, 0.33, 0.33)]))
def test_split_chunks_partitions_seeds(n0, n1, fractions):
    chunks = [{"label": 0, "seed": 100 + i} for i in range(n0)]
    chunks += [{"label": 1, "seed": 500 + i} for i in range(n1)]
    splits = split_chunks(chunks, fractions)
    all_seeds = [s for name in ("train", "val", "test") for s in splits[name]]
    assert sorted(all_seeds) == sorted(c["seed"] for c in chunks)  # disjoint and complete
    for label, n in ((0, n0), (1, n1)):
        per = {name: [s for s in splits[name] if (s >= 500) == bool(label)] for name in splits}
        if n >= 3:  # every split with a positive fraction gets chunks of both classes
            assert all(per[name] for name, f in zip(("train", "val", "test"), fractions, strict=True) if f)


def test_split_chunks_rejects_bad_fractions():
    with pytest.raises(ValueError, match="fractions"):
        split_chunks([], (0.5, 0.6, 0.1))


# ---------------------------------------------------------------------------------- storage / loading


def synthetic_arrays(n_per_seed: int = 4, seeds: tuple[int, ...] = (1, 2, 3, 10001, 10002, 10003)):
    rng = np.random.default_rng(0)
    n = n_per_seed * len(seeds)
    n_const = rng.integers(1, M + 1, size=n).astype(np.int32)
    mask = np.arange(M)[None, :] < n_const[:, None]
    p3 = rng.normal(size=(n, M, 3)) * mask[..., None]
    e = np.linalg.norm(p3, axis=-1) * mask
    constituents = np.concatenate([e[..., None], p3], axis=-1).astype(np.float64)
    seed = np.repeat(np.array(seeds, dtype=np.int64), n_per_seed)
    return {
        "constituents": constituents,
        "mask": mask,
        "n_constituents": n_const,
        "jet_p4": constituents.sum(axis=1),
        "label": (seed > 10000).astype(np.int8),
        "seed": seed,
        "event": np.tile(np.arange(n_per_seed, dtype=np.int64), len(seeds)),
    }


@pytest.fixture
def synthetic_dir(tmp_path):
    arrays = synthetic_arrays()
    write_npz_atomic(tmp_path / NPZ_NAME, arrays)
    manifest = {
        "format_version": tt_dataset.FORMAT_VERSION,
        "command": "python -m models.top_tagging.data generate --out X --n-jets 24 --seed 0",
        "counts": {"top": 12, "qcd": 12},
        "splits": {"train": [1, 10001], "val": [2, 10002], "test": [3, 10003]},
        "files": {NPZ_NAME: {"sha256": sha256_file(tmp_path / NPZ_NAME)}},
    }
    write_json_atomic(tmp_path / MANIFEST_NAME, manifest)
    return tmp_path, arrays


def test_load_round_trip_and_splits(synthetic_dir):
    path, arrays = synthetic_dir
    loaded = load_jets(path)
    assert set(loaded) == set(ARRAY_SPECS)
    for name in arrays:
        np.testing.assert_array_equal(loaded[name], arrays[name])
    parts = {name: load_jets(path, name) for name in ("train", "val", "test")}
    assert sum(len(p["label"]) for p in parts.values()) == len(arrays["label"])
    for name, part in parts.items():
        assert set(part["seed"].tolist()) == set(load_manifest(path)["splits"][name])
        assert np.bincount(part["label"]).tolist() == [4, 4]


def test_npz_writes_are_reproducible_and_atomic(tmp_path):
    arrays = synthetic_arrays(2)
    write_npz_atomic(tmp_path / "a.npz", arrays)
    write_npz_atomic(tmp_path / "b.npz", arrays)
    assert sha256_file(tmp_path / "a.npz") == sha256_file(tmp_path / "b.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz", "b.npz"]  # no temporary files left


def test_corruption_is_detected(synthetic_dir):
    path, _ = synthetic_dir
    raw = bytearray((path / NPZ_NAME).read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (path / NPZ_NAME).write_bytes(bytes(raw))
    with pytest.raises(DatasetCorruptError, match="sha256"):
        load_jets(path)
    with pytest.raises(DatasetCorruptError, match="sha256"):
        verify(path)


def test_bad_manifest_and_arrays_are_reported(synthetic_dir):
    path, arrays = synthetic_dir
    manifest = json.loads((path / MANIFEST_NAME).read_text())
    write_json_atomic(path / MANIFEST_NAME, dict(manifest, format_version=99))
    with pytest.raises(DatasetCorruptError, match="format_version"):
        load_manifest(path)
    write_npz_atomic(path / NPZ_NAME, dict(arrays, label=arrays["label"].astype(np.int64)))
    manifest["files"][NPZ_NAME]["sha256"] = sha256_file(path / NPZ_NAME)
    write_json_atomic(path / MANIFEST_NAME, manifest)
    with pytest.raises(DatasetCorruptError, match="'label'"):
        load_jets(path)


def test_missing_data_tells_how_to_generate(tmp_path, synthetic_dir):
    with pytest.raises(DatasetMissingError, match="python -m models.top_tagging.data generate --out"):
        load_jets(tmp_path / "nothing_here")
    path, _ = synthetic_dir
    (path / NPZ_NAME).unlink()
    with pytest.raises(DatasetMissingError, match="regenerate"):
        load_jets(path)
    with pytest.raises(ValueError, match="split"):
        load_jets(path, "training")


def test_info_cli_prints_manifest(synthetic_dir, capsys):
    path, _ = synthetic_dir
    assert tt_data.main(["info", "--data", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["counts"] == {"top": 12, "qcd": 12}


# ---------------------------------------------------------------------------------- kinematics / truth


def test_delta_r_wraps_phi_and_uses_rapidity():
    a = np.array([10.0, np.cos(3.1), np.sin(3.1), 0.0])
    b = np.array([10.0, np.cos(-3.1), np.sin(-3.1), 0.0])
    assert delta_r(a, b) == pytest.approx(2 * np.pi - 6.2, abs=1e-12)
    heavy = np.array([np.sqrt(1 + 2**2 + 173.0**2), 1.0, 0.0, 2.0])  # massive: y != eta
    y = 0.5 * np.log((heavy[0] + 2.0) / (heavy[0] - 2.0))
    assert delta_r(heavy, np.array([10.0, 10.0, 0.0, 0.0])) == pytest.approx(abs(y), rel=1e-12)
    assert eta_of(heavy) == pytest.approx(np.arcsinh(2.0), rel=1e-12)


def test_daughter_convention():
    assert daughters(0, 0) == [] and daughters(5, 5) == [5] and daughters(5, 0) == [5]
    assert daughters(5, 8) == [5, 6, 7, 8] and daughters(8, 5) == [8, 5]


def test_hadronic_tops_on_handmade_record():
    # 0 system; 1 top (copy) -> 2 top -> (3 W, 4 b); 3 W -> (5 W, 13 photon); 5 W -> (6 u, 7 dbar);
    # 8 anti-top -> (9 W-, 10 bbar); 9 W- -> (11 e-, 12 anti-nu_e): leptonic, not returned
    pid = np.array([90, 6, 6, 24, 5, 24, 2, -1, -6, -24, -5, 11, -12, 22])
    d1 = np.array([0, 2, 3, 13, 0, 6, 0, 0, 9, 11, 0, 0, 0, 0])  # 3 -> (13, 5): two separate daughters
    d2 = np.array([0, 2, 4, 5, 0, 7, 0, 0, 10, 12, 0, 0, 0, 0])
    p4 = np.arange(4 * len(pid), dtype=float).reshape(-1, 4)
    tops = hadronic_tops(pid, d1, d2, p4)
    assert len(tops) == 1
    np.testing.assert_array_equal(tops[0], p4[[2, 4, 6, 7]])


# ---------------------------------------------------------------------------------- Monte Carlo


def check_jets(arrays, label):
    config = GenerationConfig()
    c = arrays["constituents"].astype(np.float64)
    mask, n = arrays["mask"], len(arrays["label"])
    assert c.shape == (n, config.max_constituents, 4) and arrays["constituents"].dtype == np.float64
    assert np.all(arrays["label"] == label)
    assert np.array_equal(mask.sum(1), np.minimum(arrays["n_constituents"], config.max_constituents))
    assert np.all(c[~mask] == 0) and np.all(c[mask][:, 0] > 0)
    assert np.all(mask[:, :-1] >= mask[:, 1:])  # padding only at the end
    pt = pt_of(c)
    assert np.all(np.diff(pt, axis=1)[mask[:, 1:]] <= 0)  # pT-descending
    assert np.all(c[..., 0] >= np.linalg.norm(c[..., 1:], axis=-1) * (1 - 1e-6) - 1e-6)
    jet = arrays["jet_p4"].astype(np.float64)
    assert np.all((pt_of(jet) > config.jet_pt_min) & (pt_of(jet) < config.jet_pt_max))
    assert np.all(np.abs(eta_of(jet)) < config.jet_abs_eta_max)
    full = arrays["n_constituents"] <= config.max_constituents
    np.testing.assert_allclose(c[full].sum(1), jet[full], rtol=0, atol=1e-4 * config.jet_pt_max)
    assert np.all(np.abs(eta_of(c[mask])) < config.particle_abs_eta_max)
    assert np.all(delta_r(c, jet[:, None, :])[mask] < config.jet_radius + 0.2)


@pytest.fixture(scope="module")
def tiny_jets():
    pytest.importorskip("pythia8mc")
    pytest.importorskip("fastjet")
    return {label: tt_generate.generate_jets(label, 4242, 3) for label in (0, 1)}


@pytest.mark.parametrize("label", [0, 1])
def test_generated_jets_are_valid(tiny_jets, label):
    arrays, n_events = tiny_jets[label]
    check_jets(arrays, label)
    assert np.all(arrays["seed"] == 4242)
    assert np.all(np.diff(arrays["event"]) > 0) and n_events == arrays["event"][-1] + 1
    jet = arrays["jet_p4"].astype(np.float64)
    mass = np.sqrt(np.maximum(jet[:, 0] ** 2 - np.sum(jet[:, 1:] ** 2, axis=1), 0))
    if label == 1:
        assert np.all(mass > 100)  # contains a whole top decay


def test_generation_is_deterministic_and_prefix_stable(tiny_jets):
    again, n_events = tt_generate.generate_jets(1, 4242, 2)
    first, _ = tiny_jets[1]
    for name in again:
        np.testing.assert_array_equal(again[name], first[name][:2])
    assert n_events == first["event"][1] + 1


def test_top_events_have_two_hadronic_tops():
    pytest.importorskip("pythia8mc")
    pytest.importorskip("awkward")
    pythia = tt_generate.make_pythia(tt_generate.pythia_settings(1, 77))
    cols = tt_generate._batch_arrays(pythia.nextBatch(3))
    offsets = cols["offsets"]
    for e in range(len(offsets) - 1):
        s = slice(offsets[e], offsets[e + 1])
        tops = hadronic_tops(cols["id"][s], cols["d1"][s], cols["d2"][s], cols["p4"][s])
        assert len(tops) == 2
        for top in tops:
            w = top[2] + top[3]
            assert 50 < np.sqrt(w[0] ** 2 - np.sum(w[1:] ** 2)) < 110  # W -> q q'


def test_generate_dataset_end_to_end(tmp_path, capsys):
    pytest.importorskip("pythia8mc")
    pytest.importorskip("fastjet")
    out = tmp_path / "tt"
    manifest = tt_data.generate_dataset(out, n_jets=6, seed=5, workers=1, progress=False)
    assert manifest["counts"] == {"top": 3, "qcd": 3}
    assert manifest["versions"]["pythia8mc"] != "not installed"
    assert "Random:seed = <chunk seed>" in manifest["pythia_settings"]["top"]
    assert "--n-jets 6 --seed 5" in manifest["command"]
    arrays = load_jets(out)
    for label in (0, 1):
        check_jets({k: v[arrays["label"] == label] for k, v in arrays.items()}, label)
    assert sum(len(load_jets(out, s)["label"]) for s in ("train", "val", "test")) == 6
    with pytest.raises(FileExistsError, match="force"):
        tt_data.generate_dataset(out, n_jets=6, seed=5, workers=1, progress=False)
    with pytest.raises(ValueError, match="even"):
        tt_data.generate_dataset(tmp_path / "odd", n_jets=5, progress=False)


@pytest.mark.slow
def test_worker_count_does_not_change_the_data(tmp_path):
    pytest.importorskip("pythia8mc")
    pytest.importorskip("fastjet")
    m1 = tt_data.generate_dataset(tmp_path / "w1", n_jets=8, seed=9, workers=1, progress=False)
    m2 = tt_data.generate_dataset(tmp_path / "w2", n_jets=8, seed=9, workers=2, progress=False)
    assert m1["files"] == m2["files"]  # byte-identical npz


def test_atomic_writes_respect_umask(tmp_path) -> None:
    import os
    import stat

    old = os.umask(0o022)
    try:
        write_json_atomic(tmp_path / "m.json", {"a": 1})
        write_npz_atomic(tmp_path / "a.npz", {"x": np.arange(3)})
    finally:
        os.umask(old)
    for name in ("m.json", "a.npz"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644
    assert not list(tmp_path.glob(".*"))


def test_overview_summary_and_plot(tmp_path) -> None:
    from models.top_tagging.overview import jet_mass, plot_overview, summary

    rng = np.random.default_rng(0)
    p3 = rng.normal(size=(6, 3))
    mass = np.array([170.0, 175.0, 180.0, 20.0, 60.0, 90.0])
    jet_p4 = np.concatenate([np.sqrt(mass**2 + (p3**2).sum(1))[:, None], p3], 1)
    arrays = {"label": np.array([1, 1, 1, 0, 0, 0]), "jet_p4": jet_p4,
              "n_constituents": np.array([80, 90, 100, 40, 50, 60])}
    np.testing.assert_allclose(jet_mass(jet_p4), mass, rtol=1e-12)
    s = summary(arrays)
    assert s["top"]["mass_median"] == pytest.approx(175.0) and s["QCD"]["multiplicity_mean"] == 50.0
    with pytest.raises(ValueError, match="no top jets"):
        summary({**arrays, "label": np.zeros(6, int)})
    with pytest.raises(ValueError, match="four-momenta"):
        jet_mass(np.zeros((2, 3)))
    pytest.importorskip("matplotlib")
    assert plot_overview(arrays, tmp_path / "o.png").stat().st_size > 1000


def test_interrupted_generation_resumes_from_finished_chunks(tmp_path, monkeypatch):
    """Chunks finished before an interruption are read back, not regenerated; the result is identical."""
    calls: list[int] = []

    def fake_generate(label, seed, n_jets, config):
        calls.append(seed)
        if len(calls) == 3 and fail[0]:
            raise KeyboardInterrupt
        arrays = synthetic_arrays(n_per_seed=n_jets, seeds=(seed,))
        arrays["label"][:] = label
        return arrays, 2 * n_jets

    monkeypatch.setattr(tt_data, "generate_jets", fake_generate)
    fail = [True]
    with pytest.raises(KeyboardInterrupt):
        tt_data.generate_dataset(tmp_path / "a", n_jets=8, seed=3, workers=1, chunk_jets=1, progress=False)
    assert len(list((tmp_path / "a" / tt_data.CACHE_DIR).iterdir())) == 2
    fail[0], calls[:] = False, []
    resumed = tt_data.generate_dataset(tmp_path / "a", n_jets=8, seed=3, workers=1, chunk_jets=1,
                                       progress=False)
    assert len(calls) == 6  # 8 chunks, 2 read back
    assert not (tmp_path / "a" / tt_data.CACHE_DIR).exists()
    fresh = tt_data.generate_dataset(tmp_path / "b", n_jets=8, seed=3, workers=1, chunk_jets=1,
                                     progress=False)
    assert resumed["files"] == fresh["files"]
