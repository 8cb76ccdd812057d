r"""Segment a T1 NIfTI image with a trained run and write the label map (0 background, 1 CSF, 2 GM, 3 WM).

    python -m models.voxel_segmentation.segment image.nii.gz --run runs/voxel_eq --out labels.nii.gz

The image must be one 3D volume (a 4D file with a single volume is accepted); its intensities are divided
by the 99.5th percentile of the non-zero voxels as in training.  When its voxel spacing differs from the
training spacing (2 mm isotropic) by more than 1 %, it is resampled to the training spacing (trilinear,
with a warning), segmented, and the labels are resampled back to the input grid (nearest neighbour); with
``--no-resample`` such an image is refused.  The label map keeps the input's affine.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from models.common.cli import run_cli
from models.common.io import DataError, atomic_path
from models.voxel_segmentation.data import normalise_intensity
from models.voxel_segmentation.train import load_run

__all__ = ["read_image", "segment_array"]


def _nibabel():
    try:
        import nibabel
    except ImportError as err:
        raise ImportError("reading NIfTI needs nibabel: pip install 'lie_nn[voxel]'") from err
    return nibabel


def read_image(path: Path):
    """The NIfTI image at ``path`` as one 3D volume (``DataError`` when unreadable or not one volume)."""
    nib = _nibabel()
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        img = nib.load(str(path))
        data = np.asanyarray(img.dataobj)
    except Exception as err:  # nibabel raises many types for corrupt files
        raise DataError(f"{path}: cannot read it as NIfTI ({type(err).__name__}: {err})") from err
    if data.ndim == 4 and data.shape[3] == 1:
        img = nib.Nifti1Image(data[..., 0], img.affine, img.header)
    elif data.ndim == 4:
        raise DataError(f"{path}: the model takes 1 channel (a T1 image), got {data.shape[3]} volumes "
                        f"(shape {data.shape})")
    elif data.ndim != 3:
        raise DataError(f"{path}: expected a 3D image, got shape {data.shape}")
    return img


@torch.no_grad()
def segment_array(model: torch.nn.Module, image: np.ndarray) -> np.ndarray:
    """Labels ``(X, Y, Z)`` uint8 of a normalised 3D ``image`` (padded to multiples of 4 for the U-Net)."""
    if image.ndim != 3:
        raise DataError(f"expected a 3D image, got shape {image.shape}")
    pad = [(0, (-n) % 4) for n in image.shape]
    x = torch.from_numpy(np.pad(image, pad).astype(np.float32))[None, None]
    logits = model(x.to(next(model.parameters()).dtype))
    labels = logits.argmax(1)[0].numpy().astype(np.uint8)
    return labels[: image.shape[0], : image.shape[1], : image.shape[2]]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.voxel_segmentation.segment", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("image", type=Path)
    parser.add_argument("--run", type=Path, required=True, help="training run directory (run.json, best.pt)")
    parser.add_argument("--out", type=Path, required=True, help="label map (.nii or .nii.gz)")
    parser.add_argument("--no-resample", action="store_true", help="refuse images of another spacing")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)  # as in training (denormal floats slow CPU kernels several-fold)
    nib = _nibabel()
    img = read_image(args.image)
    model, identity = load_run(args.run)
    spacing = np.array(identity.get("spacing", [2.0, 2.0, 2.0]), dtype=np.float64)
    zooms = np.array(img.header.get_zooms()[:3], dtype=np.float64)
    work = img
    if not np.allclose(zooms, spacing, rtol=0.01):
        if args.no_resample:
            raise DataError(f"{args.image}: voxel spacing {zooms.tolist()} mm differs from the training "
                            f"spacing {spacing.tolist()} mm (drop --no-resample to resample)")
        from nibabel.processing import resample_to_output
        print(f"warning: resampling {args.image} from {zooms.tolist()} mm to {spacing.tolist()} mm",
              file=sys.stderr)
        work = resample_to_output(img, voxel_sizes=tuple(spacing), order=1)
    labels = segment_array(model, normalise_intensity(np.asarray(work.get_fdata())))
    out = nib.Nifti1Image(labels, work.affine)
    if work is not img:
        from nibabel.processing import resample_from_to
        out = resample_from_to(out, img, order=0)
        out = nib.Nifti1Image(np.asarray(out.dataobj).astype(np.uint8), img.affine)
    suffix = "".join(args.out.suffixes[-2:]) if args.out.name.endswith(".nii.gz") else args.out.suffix
    with atomic_path(args.out) as tmp:
        target = tmp.with_name(tmp.name + suffix)
        nib.save(out, str(target))
        target.replace(tmp)
    counts = np.bincount(np.asarray(out.dataobj).ravel(), minlength=4)
    print(f"wrote {args.out}: {dict(zip(('background', 'CSF', 'GM', 'WM'), counts.tolist(), strict=True))}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    run_cli(main)
