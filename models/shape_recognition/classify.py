r"""Classify a mesh file with a trained run.

    python -m models.shape_recognition.classify part.wrl --model runs/shapes_equivariant_none

Reads the mesh (VRML through VTK; STL / OBJ / PLY / OFF through trimesh), samples and normalises
1,024 surface points like the data set (seeded, ``--seed``), keeps the run's number of them, and
prints the predicted class and its probability (``--top`` more with ``--top N``).  The equivariant
model gives the same answer for the part in any orientation or mirrored.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from models.common.cli import run_cli
from models.common.training import torch_dtype
from models.shape_recognition.meshes import mesh_to_cloud, read_mesh
from models.shape_recognition.train import load_run

__all__ = ["classify_mesh"]

SAMPLES = 1024  # surface samples per mesh in the data set (data.py --points)


def classify_mesh(path: str | Path, run: str | Path, *, seed: int = 0) -> list[tuple[str, float]]:
    """``[(class, probability), ...]`` for the mesh at ``path``, most probable first."""
    settings, train_settings, model, identity, _ = load_run(run)
    vertices, faces = read_mesh(path)
    # like the data set: sample SAMPLES points, normalise them, the model sees the first `points`
    cloud = mesh_to_cloud(vertices, faces, max(SAMPLES, settings.points), seed)[: settings.points]
    x = torch.from_numpy(cloud).to(torch_dtype(train_settings.dtype)).unsqueeze(0)
    with torch.no_grad():
        probabilities = torch.softmax(model.eval()(x), dim=-1)[0].double().numpy()
    order = np.argsort(-probabilities)
    return [(identity["classes"][i], float(probabilities[i])) for i in order]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m models.shape_recognition.classify", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mesh", help="a .wrl/.vrml/.stl/.obj/.ply/.off file")
    parser.add_argument("--model", required=True, help="run directory written by train")
    parser.add_argument("--seed", type=int, default=0, help="surface sampling seed")
    parser.add_argument("--top", type=int, default=1, help="how many classes to print")
    args = parser.parse_args(argv)
    if not Path(args.model, "checkpoint.pt").is_file():
        raise FileNotFoundError(f"{args.model} is not a training run (no checkpoint.pt)")
    for name, p in classify_mesh(args.mesh, args.model, seed=args.seed)[: max(args.top, 1)]:
        print(f"{name}\t{p:.3f}")


if __name__ == "__main__":
    run_cli(main)
