"""Readers of the file formats data sets come in, each checking what it reads.

Every damaged file (truncated, wrong format, inconsistent header) raises a DataError that names
the file and says what to do, instead of the reader library's bare assertion.
"""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from .errors import DataError
from .images import fit_square

REPLACE = "delete it and prepare the data again (or replace it with an intact copy)"


def read_bytes(path: Path) -> bytes:
    """The file's content, decompressed when it ends in .gz."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError) as err:  # BadGzipFile is an OSError; a cut gzip an EOFError
        raise DataError(f"{path} cannot be read ({err}); {REPLACE}") from err


def read_idx(path: Path) -> torch.Tensor:
    """An IDX file of unsigned bytes (MNIST's format) as a uint8 tensor of its header's shape."""
    raw = read_bytes(path)
    if len(raw) < 4 or raw[:3] != b"\x00\x00\x08" or raw[3] == 0:
        raise DataError(f"{path} is not an IDX file of unsigned bytes (its first bytes are "
                        f"{raw[:4].hex() or 'missing'}); {REPLACE}")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path} is truncated inside its header; {REPLACE}")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape, dtype=np.int64))
    if len(raw) - header != expected:
        state = "truncated" if len(raw) - header < expected else "longer than its header says"
        raise DataError(f"{path} is {state}: its header announces {'x'.join(map(str, shape))} "
                        f"= {expected} bytes but it holds {len(raw) - header}; {REPLACE}")
    array = np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)
    return torch.from_numpy(array.copy())


def read_idx_pair(images_path: Path, labels_path: Path, num_classes: int):
    """Images [N, 1, H, W] and int64 labels [N] from two IDX files that must agree."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3:
        raise DataError(f"{images_path} holds a {images.ndim}-d array, not images; {REPLACE}")
    if labels.ndim != 1:
        raise DataError(f"{labels_path} holds a {labels.ndim}-d array, not labels; {REPLACE}")
    if len(images) != len(labels):
        raise DataError(f"{images_path} holds {len(images)} images but {labels_path} "
                        f"{len(labels)} labels; one of them is damaged: {REPLACE}")
    if len(labels) and int(labels.max()) >= num_classes:
        raise DataError(f"{labels_path} has labels above {num_classes - 1}; {REPLACE}")
    return images.unsqueeze(1), labels.long()


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists and numpy arrays only: a data file must not run code."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("_codecs", "encode"),  # how Python 3 writes bytes into protocol-2 pickles
    }

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def read_pickle(path: Path) -> dict:
    """A CIFAR-style batch: a pickled dict of arrays and lists (Python 2 pickles included)."""
    try:
        with open(path, "rb") as f:
            obj = _ArrayUnpickler(f, encoding="latin1").load()
    except FileNotFoundError as err:
        raise DataError(f"{path} is missing; {REPLACE}") from err
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError,
            IndexError, KeyError) as err:
        raise DataError(f"{path} is not a readable batch file ({err}); {REPLACE}") from err
    if not isinstance(obj, dict):
        raise DataError(f"{path} does not hold a batch dictionary; {REPLACE}")
    return obj


def read_image(path: Path, size: int, channels: int) -> torch.Tensor:
    """An image file, scaled and centre-cropped to [channels, size, size] uint8."""
    try:
        with Image.open(path) as image:
            image.load()
            return to_uint8(fit_square(image.convert("RGB" if channels == 3 else "L"), size))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError) as err:
        raise DataError(f"{path} is not a readable image ({err}); delete or replace it") from err


def to_uint8(image: Image.Image) -> torch.Tensor:
    """PIL image ("L" or "RGB") -> uint8 [C, H, W]."""
    array = np.asarray(image, dtype=np.uint8)
    if array.ndim == 2:
        array = array[..., None]
    return torch.from_numpy(array.copy()).permute(2, 0, 1).contiguous()
