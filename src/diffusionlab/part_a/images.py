"""Test images for part A: local files, web addresses, or photos bundled with scikit-image.

A source is one of
- a path to an image file;
- an http(s) URL, fetched with urllib (a clear error when it cannot be reached);
- `skimage:NAME`, a photo shipped inside the scikit-image wheel (data.images.SKIMAGE_PHOTOS:
  `skimage:astronaut`, `skimage:rocket`, `skimage:chelsea`, `skimage:coffee`, `skimage:horse`,
  ...), always offline.
Part A's jobs also read `drawn:D` (digit D drawn with pen strokes) and `mnist:N` (test digit N);
`source_problem` checks any source string before a job runs.

Images are scaled so the shorter side fits, centre-cropped to a square and returned as
[1, C, size, size] float tensors in [0, 1].
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from ..data.errors import DataError
from ..data.images import SKIMAGE_PREFIX, fit_square, open_image, skimage_problem

if TYPE_CHECKING:
    import torch

# numpy and torch are imported where they are used: the workflow checks every source with
# source_problem when it loads, and a no-op run must stay fast.

# The exercise's test image as published with the course's project page; a local copy can
# be given as a path instead.
CAMPANILE_URL = "https://inst.eecs.berkeley.edu/~cs180/fa24/hw/proj5/assets/campanile.jpg"
DRAWN_PREFIX, MNIST_PREFIX, TEST_PREFIX = "drawn:", "mnist:", "test:"
# A test image that cannot be read is a data error like any other; the name says where.
ImageSourceError = DataError
__all__ = ["CAMPANILE_URL", "DRAWN_PREFIX", "MNIST_PREFIX", "TEST_PREFIX", "ImageSourceError",
           "fit_square", "load_image", "open_image", "source_problem", "to_tensor"]


def source_problem(source: str) -> str | None:
    """What is wrong with an image source of the config, or None; reads no file.

    `mnist:N` is checked for its form only: the test split's size is the caller's to check.
    """
    kind, _, value = source.partition(":")
    if source.startswith(DRAWN_PREFIX) and not (len(value) == 1 and value.isdigit()):
        return f"{source!r}: drawn: takes one digit 0-9 (drawn:4)"
    if source.startswith(MNIST_PREFIX) and not value.isdigit():
        return f"{source!r}: mnist: takes the index of a test digit (mnist:0)"
    if source.startswith(TEST_PREFIX) and not value.isdigit():
        return f"{source!r}: test: takes the index of a test image of the data set (test:0)"
    if source.startswith(SKIMAGE_PREFIX):
        return skimage_problem(source)
    if kind in ("drawn", "mnist", "test", "http", "https"):
        return None
    if not Path(source).is_file():
        return (f"no image file at {Path(source).resolve()}: give an existing file, an http(s) "
                "URL, skimage:NAME, drawn:D or mnist:N")
    return None


def to_tensor(image: Image.Image) -> torch.Tensor:
    """PIL image -> [1, C, H, W] float in [0, 1]."""
    import numpy as np
    import torch

    array = np.asarray(image, dtype=np.float32) / 255.0
    if array.ndim == 2:
        array = array[..., None]
    return torch.from_numpy(array.copy()).permute(2, 0, 1).unsqueeze(0)


def load_image(source: str, size: int, channels: int = 3) -> torch.Tensor:
    """[1, channels, size, size] in [0, 1] from any source; channels 3 (RGB) or 1 (grey)."""
    if channels not in (1, 3):
        raise ValueError("channels must be 1 or 3")
    image = open_image(source).convert("RGB" if channels == 3 else "L")
    return to_tensor(fit_square(image, size))
