"""Where each source's files lie on disk, without torch: the data jobs' loaders read them, and
the workflow declares the ones that exist as the jobs' inputs (editing one reruns its job).

Downloads (torchvision, URLs) are the jobs' own business and are not listed.
"""

from __future__ import annotations

from pathlib import Path

IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
DEBIAN_FASHION_MNIST = "/usr/share/datasets/fashion-mnist"
CIFAR_FOLDER = "cifar-10-batches-py"
CIFAR_TRAIN = [f"data_batch_{i}" for i in range(1, 6)]
CIFAR_FILES = [*CIFAR_TRAIN, "test_batch", "batches.meta"]
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
REMOTE_PREFIXES = ("skimage:", "http://", "https://")
# Class names of the labelled sources whose classes are fixed (CIFAR-10's as its batches.meta
# names them, which the data job reads): what the workflow checks class prompts against.
DIGITS = [str(d) for d in range(10)]
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]
CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                 "truck"]
FIXED_CLASSES = {"mnist": DIGITS, "fashion-mnist": FASHION_CLASSES, "cifar10": CIFAR_CLASSES}


def is_image(path: Path) -> bool:
    hidden = path.name.startswith(".")
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not hidden


def _idx_files(folder: Path) -> list[Path]:
    names = [n for pair in IDX_FILES.values() for n in pair]
    return [p for n in names for p in (folder / n, folder / f"{n}.gz") if p.is_file()]


def input_files(entry: dict) -> list[str]:
    """The local files that one `datasets:` entry's source reads and that exist now."""
    source, origin = entry.get("source"), entry.get("origin")
    root = entry.get("root")
    if source == "mnist" and origin == "folder":
        found = _idx_files(Path(root or "data") / "MNIST" / "raw")
    elif source == "fashion-mnist" and origin in ("debian", None):
        found = _idx_files(Path(root or DEBIAN_FASHION_MNIST))
    elif source == "fashion-mnist" and origin == "folder":
        found = _idx_files(Path(root or "data") / "FashionMNIST" / "raw")
    elif source == "cifar10" and origin == "folder":
        folder = Path(root or "data") / CIFAR_FOLDER
        found = [folder / f for f in CIFAR_FILES if (folder / f).is_file()]
    elif source == "folder" and root and Path(root).is_dir():
        found = sorted(p for p in Path(root).rglob("*") if is_image(p))
    elif source == "image" and not str(entry.get("image", "")).startswith(REMOTE_PREFIXES):
        found = [Path(entry["image"])] if Path(entry.get("image", "")).is_file() else []
    else:
        found = []
    return [str(p) for p in found]


def known_class_names(entry: dict) -> list[str] | None:
    """The class names of one `datasets:` entry where the source fixes them, else None (a
    folder's come from its subfolders, an image is one class named after it)."""
    return FIXED_CLASSES.get(entry.get("source"))
