"""The one prepared data set type: uint8 images [N, C, H, W], int64 labels, provenance meta."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..torchfiles import read_torch_dict
from .errors import DataError  # noqa: F401 (re-exported: callers import it from here)


@dataclass
class Dataset:
    train_images: torch.Tensor  # uint8 [N, C, H, W]
    train_labels: torch.Tensor  # int64 [N]
    test_images: torch.Tensor
    test_labels: torch.Tensor
    meta: dict = field(default_factory=dict)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.train_images.shape[1:])

    @property
    def class_names(self) -> list[str]:
        return self.meta["class_names"]

    def to_dict(self) -> dict:
        return {
            "train_images": self.train_images,
            "train_labels": self.train_labels,
            "test_images": self.test_images,
            "test_labels": self.test_labels,
            "meta": self.meta,
        }

    def save(self, path: str | Path) -> None:
        torch.save(self.to_dict(), path)

    @classmethod
    def load(cls, path: str | Path) -> Dataset:
        parts = read_torch_dict(path, ("train_images", "train_labels", "test_images",
                                       "test_labels", "meta"), "a prepared data set")
        for split in ("train_images", "test_images"):  # files written before the channel axis
            if parts[split].ndim == 3:
                parts[split] = parts[split].unsqueeze(1)
        return cls(**parts)


# The name every caller has imported since the data was MNIST only.
MNIST = Dataset


def as_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 [N, C, H, W] (or [N, H, W], one channel) -> float [N, C, H, W] in [0, 1]."""
    if images.ndim == 3:
        images = images.unsqueeze(1)
    return images.float().div_(255.0)


def fingerprint(*tensors: torch.Tensor) -> str:
    """sha256 over the shapes, dtypes and bytes of the tensors, in order."""
    digest = hashlib.sha256()
    for t in tensors:
        digest.update(f"{tuple(t.shape)} {t.dtype};".encode())
        digest.update(t.contiguous().numpy().tobytes())
    return digest.hexdigest()


def assemble(
    train: tuple[torch.Tensor, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor],
    class_names: list[str],
    meta: dict,
    train_size: int | None = None,
    test_size: int | None = None,
) -> Dataset:
    """A Dataset from (images, labels) per split, cut to the first train_size / test_size.

    Checks what every source must deliver (uint8 [N, C, H, W], one label per image, labels in
    range) and adds the provenance every set records to `meta`.
    """
    splits = {}
    for split, (images, labels), size in (("train", train, train_size),
                                          ("test", test, test_size)):
        if images.ndim != 4 or images.dtype != torch.uint8:
            raise ValueError(f"{split} images must be uint8 [N, C, H, W], not "
                             f"{images.dtype} {tuple(images.shape)}")
        if len(images) != len(labels):
            raise DataError(f"{meta.get('root')}: the {split} split has {len(images)} images "
                            f"but {len(labels)} labels; replace the damaged files")
        if size is not None and size > len(labels):
            raise DataError(f"{split}_size = {size} but the {meta.get('dataset')} data at "
                            f"{meta.get('root')} has only {len(labels)} {split} images")
        images, labels = images[:size].contiguous(), labels[:size].long().contiguous()
        if len(labels) and not 0 <= int(labels.min()) <= int(labels.max()) < len(class_names):
            raise DataError(f"{meta.get('root')}: {split} labels outside 0..{len(class_names) - 1}")
        splits[split] = (images, labels)
    (train_x, train_y), (test_x, test_y) = splits["train"], splits["test"]
    if train_x.shape[1:] != test_x.shape[1:]:
        raise ValueError(f"train {tuple(train_x.shape)} and test {tuple(test_x.shape)} differ")
    meta = {
        **meta,
        "train_count": len(train_y),
        "test_count": len(test_y),
        "train_class_counts": torch.bincount(train_y, minlength=len(class_names)).tolist(),
        "class_names": list(class_names),
        "image_shape": list(train_x.shape[1:]),
        "channels": train_x.shape[1],
        "fingerprint": fingerprint(train_x, train_y, test_x, test_y),
    }
    return Dataset(train_x, train_y, test_x, test_y, meta)


def save_dataset(dataset: Dataset, tensors_path: str | Path, meta_path: str | Path) -> None:
    """Write the tensors (torch.save) and the meta (JSON) each atomically: a crash leaves
    either the complete file or none."""
    _atomic(tensors_path, lambda f: torch.save(dataset.to_dict(), f))
    text = json.dumps(dataset.meta, indent=2, sort_keys=True) + "\n"
    _atomic(meta_path, lambda f: f.write(text.encode()))


def load_dataset(tensors_path: str | Path) -> Dataset:
    return Dataset.load(tensors_path)


def _atomic(path: str | Path, write) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
