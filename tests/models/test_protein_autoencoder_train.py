"""Protein autoencoder end to end on tiny synthetic proteins written here: data generation (split by
protein, manifest, sha256 check), training of both models, evaluation on rotated inputs, the ADK-style
interpolation and the user CLI with its one-line errors."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
import torch

pytest.importorskip("gemmi")

from models.common.cli import run_cli  # noqa: E402
from models.common.io import DataError  # noqa: E402
from models.protein_autoencoder import cli, evaluate, interpolate, report, train  # noqa: E402
from models.protein_autoencoder.data import generate, load_split, segments  # noqa: E402
from models.protein_autoencoder.structure import read_chain, structure_to_pdb, write_pdb  # noqa: E402
from models.protein_autoencoder.synthetic import synthetic_chain  # noqa: E402

TINY = [
    "--epochs",
    "1",
    "--batch-size",
    "4",
    "--scalars",
    "4",
    "--vectors",
    "2",
    "--tensors",
    "1",
    "--levels",
    "2",
    "--quiet",
]


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp("mdatests")
    (root / "dssp").mkdir()
    for k in range(6):
        c = synthetic_chain(14 + 2 * k, seed=k)
        text = structure_to_pdb([(c.types, c.coords, c.mask)])
        (root / "dssp" / f"{k}tst{'A' if k else 'B'}.pdb.gz").write_bytes(gzip.compress(text.encode()))
    (root / "dssp" / "wrong_hydrogens.pdb.gz").write_bytes(gzip.compress(b"garbage\n"))  # excluded by name
    return root


@pytest.fixture(scope="module")
def data_dir(source, tmp_path_factory):
    out = tmp_path_factory.mktemp("protein")
    generate(out, length=8, stride=4, n_val=1, n_test=2, seed=3, source=source)
    return out


@pytest.fixture(scope="module")
def runs(data_dir, tmp_path_factory):
    base = tmp_path_factory.mktemp("runs")
    for kind in ("equivariant", "peer"):
        train.main(["--model", kind, "--data", str(data_dir), "--out", str(base / kind), *TINY])
    return base


def test_split_is_by_protein_and_recorded(data_dir):
    manifest = json.loads((data_dir / "manifest.json").read_text())
    split = manifest["split"]
    names = [set(split[s]) for s in ("train", "val", "test")]
    assert sum(map(len, names)) == 6 and not (
        names[0] & names[1] or names[0] & names[2] or names[1] & names[2]
    )
    assert manifest["seeds"] == {"split": 3}
    for s in ("train", "val", "test"):
        arrays = load_split(data_dir, s)
        assert arrays["coords"].shape[1:] == (8, 14, 3)
        assert set(arrays["protein"].tolist()) <= set(range(len(split[s])))
    test = load_split(data_dir, "test")
    assert np.all(np.diff(test["start"][test["protein"] == 0]) >= 8)  # disjoint windows outside train


def test_corrupt_data_is_refused(data_dir, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(data_dir, copy)
    (copy / "val.npz").write_bytes(b"x")
    with pytest.raises(DataError, match="val.npz is corrupt.*make protein-data"):
        load_split(copy, "val")


def test_segments_cut_at_incomplete_residues_and_breaks():
    c = synthetic_chain(10, seed=0)
    c.complete[4] = False
    c.coords[7:] += 20.0  # chain break between residues 7 and 8
    assert segments(c) == [(0, 4), (5, 7), (7, 10)]


def test_training_writes_loadable_models(runs):
    for kind in ("equivariant", "peer"):
        model, state = train.load_model(runs / kind / "model.pt")
        assert state["kind"] == kind and not model.training
        history = [json.loads(line) for line in (runs / kind / "history.jsonl").read_text().splitlines()]
        assert np.isfinite(history[-1]["val_loss"])


def test_evaluation_equivariant_model_ignores_rotations(runs, data_dir, tmp_path):
    out = tmp_path / "eval.json"
    evaluate.main([str(runs / "equivariant"), str(runs / "peer"), "--data", str(data_dir), "--out", str(out)])
    ours, peer = json.loads(out.read_text())
    for key in ("heavy_rmsd", "ca_rmsd", "type_accuracy"):
        assert abs(ours["test"][key] - ours["test_rotated"][key]) < 1e-4 * max(1.0, ours["test"][key])
    assert abs(peer["test"]["heavy_rmsd"] - peer["test_rotated"]["heavy_rmsd"]) > 1e-6
    assert ours["factor"] == 4 and ours["test"]["fragments"] == len(load_split(data_dir, "test")["types"])
    report.main(["--eval", str(out), "--data", str(data_dir), "--docs", str(tmp_path)])
    assert (tmp_path / "protein_reconstruction.png").stat().st_size > 0
    assert "| 4 | equivariant |" in report.table([ours, peer])


def _pdbs(tmp_path, n=9):
    a = synthetic_chain(n, seed=11)
    b = synthetic_chain(n, seed=11)
    b.coords = b.coords + np.random.default_rng(0).normal(scale=0.5, size=b.coords.shape) * b.mask[..., None]
    pa, pb = tmp_path / "a.pdb", tmp_path / "b.pdb"
    write_pdb(pa, [(a.types, a.coords, a.mask)])
    write_pdb(pb, [(b.types, b.coords, b.mask)])
    return pa, pb


def test_interpolation_ends_are_the_reconstructions(runs, tmp_path):
    pa, pb = _pdbs(tmp_path)
    model, _ = train.load_model(runs / "equivariant" / "model.pt")
    a, b = read_chain(pa), read_chain(pb)
    path = interpolate.latent_path(model, a, b, 4)
    with torch.no_grad():
        recon = model(*interpolate.chain_tensors(a, torch.float32))[0][0].double().numpy()
    assert len(path) == 4 and np.abs(path[0] - recon).max() < 1e-5
    interpolate.main(
        [
            "--model",
            str(runs / "equivariant" / "model.pt"),
            "--peer",
            str(runs / "peer" / "model.pt"),
            "--start",
            str(pa),
            "--end",
            str(pb),
            "--steps",
            "3",
            "--out",
            str(tmp_path / "adk"),
            "--plot",
            str(tmp_path / "adk.png"),
        ]
    )
    metrics = json.loads((tmp_path / "adk" / "metrics.json").read_text())
    assert metrics["paths"]["coordinates"][0]["ca_rmsd_start"] < 1e-3
    assert (tmp_path / "adk" / "path_latent_equivariant.pdb").read_text().count("MODEL") == 3
    assert (tmp_path / "adk.png").stat().st_size > 0


def test_cli_encode_decode_interpolate(runs, tmp_path, capsys):
    pa, pb = _pdbs(tmp_path)
    model = str(runs / "equivariant" / "model.pt")
    with pytest.raises(SystemExit) as e:
        run_cli(cli.main, ["encode", model, str(pa), "--out", str(tmp_path / "z.npz")])
    assert e.value.code == 0 and "reconstruction RMSD" in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:
        run_cli(cli.main, ["decode", model, str(tmp_path / "z.npz"), "--out", str(tmp_path / "r.pdb")])
    assert e.value.code == 0 and len(read_chain(tmp_path / "r.pdb")) == 9
    with pytest.raises(SystemExit) as e:
        run_cli(
            cli.main,
            ["interpolate", model, str(pa), str(pb), "--steps", "3", "--out", str(tmp_path / "p.pdb")],
        )
    assert e.value.code == 0 and (tmp_path / "p.pdb").read_text().count("MODEL") == 3


@pytest.mark.parametrize(
    "case,message",
    [
        ("empty", "empty file"),
        ("missing", "no such structure file"),
        ("latent_from_other_model", "another model"),
        ("not_latent", "not a latent .npz file"),
    ],
)
def test_cli_errors_are_one_line(runs, tmp_path, capsys, case, message):
    model = str(runs / "equivariant" / "model.pt")
    pa, _ = _pdbs(tmp_path)
    (tmp_path / "empty.pdb").write_text("")
    if case in ("empty", "missing"):
        argv = [
            "encode",
            model,
            str(tmp_path / ("empty.pdb" if case == "empty" else "nope.pdb")),
            "--out",
            str(tmp_path / "z.npz"),
        ]
    elif case == "latent_from_other_model":
        run_cli_ok = ["encode", str(runs / "peer" / "model.pt"), str(pa), "--out", str(tmp_path / "zp.npz")]
        with pytest.raises(SystemExit):
            run_cli(cli.main, run_cli_ok)
        capsys.readouterr()
        argv = ["decode", model, str(tmp_path / "zp.npz"), "--out", str(tmp_path / "r.pdb")]
    else:
        argv = ["decode", model, str(pa), "--out", str(tmp_path / "r.pdb")]
    with pytest.raises(SystemExit) as e:
        run_cli(cli.main, argv)
    err = capsys.readouterr().err.strip()
    assert e.value.code == 1 and message in err and len(err.splitlines()) == 1


def test_resume_is_bit_exact_and_refuses_changed_settings(data_dir, tmp_path):
    """The peer (random rotations drawn in training) resumed after one epoch equals two epochs in one go."""
    common = ["--model", "peer", "--data", str(data_dir), "--epochs", "2", "--batch-size", "4",
              "--scalars", "4", "--vectors", "2", "--tensors", "1", "--levels", "1", "--quiet"]
    train.main([*common, "--out", str(tmp_path / "full")])
    train.main([*common, "--out", str(tmp_path / "split"), "--stop-after", "1"])
    train.main([*common, "--out", str(tmp_path / "split"), "--resume"])
    a = torch.load(tmp_path / "full" / "checkpoint.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "split" / "checkpoint.pt", weights_only=True)["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(ValueError, match="other settings|differ"):
        train.main([*common, "--out", str(tmp_path / "split"), "--resume", "--lr", "0.1"])


def test_data_cli_generate_and_info(source, tmp_path, capsys):
    from models.protein_autoencoder.data import main as data_main

    data_main(["generate", "--out", str(tmp_path / "d"), "--length", "8", "--n-val", "1", "--n-test", "1",
               "--seed", "0", "--source", str(source)])
    data_main(["info", "--data", str(tmp_path / "d")])
    out = capsys.readouterr().out
    assert "train:" in out and "test:" in out
    with pytest.raises(SystemExit) as e:
        run_cli(data_main, ["info", "--data", str(tmp_path / "none")])
    assert e.value.code == 1 and "make protein-data" in capsys.readouterr().err
