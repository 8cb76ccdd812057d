r"""Training crops with MONAI augmentation (elastic + intensity; optionally random rotations for the peer).

Every sample: a training crop origin drawn with torch's global generator, the axis-aligned crop, then
MONAI's ``Rand3DElasticd`` (smooth random displacement field, ``sigma`` 5–7 voxels, ``magnitude``
50–150 before smoothing, i.e. displacements of about one voxel; trilinear image, nearest-neighbour
labels, zeros outside), ``RandBiasFieldd`` (smooth multiplicative field), ``RandScaleIntensityd``
(±15 %), ``RandShiftIntensityd`` (±0.05) and ``RandGaussianNoised`` (σ 0.02).  ``rotate=True`` adds
random rotations of up to ±180° about each axis to the same elastic transform (the usual MONAI
rotation augmentation); the equivariant model is trained without it.  MONAI's generators are seeded
per sample from torch's global generator, which the trainer checkpoints, so ``--resume`` is exact.
Known limit: under ``torchrun`` every rank starts from the same generator state and so draws the same
crops for its slice of the batch (training stays correct, with fewer distinct samples per step).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from models.voxel_segmentation.crops import crop
from models.voxel_segmentation.data import Volume

__all__ = ["TrainCrops", "ValCrops", "augmentation"]


def augmentation(rotate: bool):
    """The MONAI transform on ``{"image": (1, n, n, n), "label": (1, n, n, n)}`` dictionaries."""
    try:
        from monai import transforms as T
    except ImportError as err:
        raise ImportError("training augmentation needs monai: pip install 'lie_nn[voxel]'") from err
    rotate_range = (math.pi, math.pi, math.pi) if rotate else None
    return T.Compose([
        T.Rand3DElasticd(keys=("image", "label"), sigma_range=(5, 7), magnitude_range=(50, 150), prob=1.0,
                         rotate_range=rotate_range, mode=("bilinear", "nearest"), padding_mode="zeros"),
        T.RandBiasFieldd(keys="image", coeff_range=(0.0, 0.1), prob=0.5),
        T.RandScaleIntensityd(keys="image", factors=0.15, prob=1.0),
        T.RandShiftIntensityd(keys="image", offsets=0.05, prob=1.0),
        T.RandGaussianNoised(keys="image", std=0.02, prob=1.0),
    ])


class TrainCrops:
    """``samples_per_epoch`` augmented training crops per epoch; ``batch(indices)`` draws ``len(indices)``
    fresh ones (origins and augmentation from torch's global generator; the indices only count)."""

    def __init__(self, volume: Volume, origins: np.ndarray, *, rotate: bool, samples_per_epoch: int) -> None:
        self.volume, self.origins, self.n = volume, np.asarray(origins), int(samples_per_epoch)
        self.size = volume.settings.crop
        self.transform = augmentation(rotate)

    def __len__(self) -> int:
        return self.n

    def batch(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        images, labels = [], []
        for _ in indices:
            k = int(torch.randint(len(self.origins), ()).item())
            seed = int(torch.randint(2**31 - 1, ()).item())
            centre = self.origins[k] + (self.size - 1) / 2
            image, label = crop(self.volume.t1, self.volume.labels, centre, self.size)
            self.transform.set_random_state(seed=seed)
            out = self.transform({"image": image, "label": label[None].float()})
            images.append(torch.as_tensor(np.asarray(out["image"]), dtype=torch.float32))
            labels.append(torch.as_tensor(np.asarray(out["label"])[0]).round().long())
        return {"image": torch.stack(images), "labels": torch.stack(labels)}


class ValCrops:
    """Fixed, unaugmented crops at ``origins`` (validation inside the training region)."""

    def __init__(self, volume: Volume, origins: np.ndarray) -> None:
        size = volume.settings.crop
        pairs = [crop(volume.t1, volume.labels, o + (size - 1) / 2, size) for o in np.asarray(origins)]
        self.images = torch.stack([p[0] for p in pairs])
        self.labels = torch.stack([p[1] for p in pairs])

    def __len__(self) -> int:
        return len(self.images)

    def batch(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        idx = torch.as_tensor(list(indices), dtype=torch.long)
        return {"image": self.images[idx], "labels": self.labels[idx]}
