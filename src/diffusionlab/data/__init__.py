"""Image data sets, prepared once as uint8 tensors with their provenance.

`Dataset` (alias `MNIST`) is the one type: uint8 images [N, C, H, W] and int64 labels for the
train and test splits, and `meta` (source, root, counts, class names, image shape, channels and a
sha256 fingerprint of the tensors). `sources.SOURCES` maps each source name to its loader;
`prepare(entry)` turns one entry of the `datasets:` section into a Dataset and
`save_dataset` / `load_dataset` store it as a .pt file beside its .json meta.

The names below load on first use: `diffusionlab.data.images` and `.errors` are torch-free and
read when the workflow loads, which must not pay for importing torch.
"""

import importlib

_HOMES = {
    "MNIST": "dataset", "DataError": "errors", "Dataset": "dataset", "as_float": "dataset",
    "fingerprint": "dataset", "load_dataset": "dataset", "save_dataset": "dataset",
    "SOURCES": "sources", "load_mnist": "sources", "prepare": "sources", "resolve": "sources",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
