"""Image data sets, prepared once as uint8 tensors with their provenance.

`Dataset` (alias `MNIST`) is the one type: uint8 images [N, C, H, W] and int64 labels for the
train and test splits, and `meta` (source, root, counts, class names, image shape, channels and a
sha256 fingerprint of the tensors). `sources.SOURCES` maps each source name to its loader;
`prepare(entry)` turns one entry of the `datasets:` section into a Dataset and
`save_dataset` / `load_dataset` store it as a .pt file beside its .json meta.
"""

from .dataset import (
    MNIST,
    DataError,
    Dataset,
    as_float,
    fingerprint,
    load_dataset,
    save_dataset,
)
from .sources import SOURCES, load_mnist, prepare, resolve

__all__ = [
    "MNIST", "SOURCES", "DataError", "Dataset", "as_float", "fingerprint", "load_dataset",
    "load_mnist", "prepare", "resolve", "save_dataset",
]
