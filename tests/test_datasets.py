"""Data set sources on files of their real layouts, and one line for every kind of bad data."""

import gzip
import importlib.util
import inspect
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from diffusionlab.config import ConfigError, validate
from diffusionlab.data import SOURCES, DataError, Dataset, load_dataset, prepare, resolve
from diffusionlab.data.sources import DEBIAN_FASHION_MNIST, FASHION_CLASSES

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "schemas" / "datasets.schema.yaml"
CIFAR_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck"]


def prepare_data_script():
    spec = importlib.util.spec_from_file_location("prepare_data", ROOT / "scripts" /
                                                  "prepare_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Files in the real layouts, tiny


def write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


def idx_folder(folder: Path, n_train=30, n_test=10, suffix="") -> Path:
    """The four MNIST files; image k is filled with its label times 20."""
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = np.arange(n) % 10
        images = np.repeat(labels * 20, 28 * 28).reshape(n, 28, 28)
        write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
    return folder


def cifar_folder(root: Path, per_batch=4) -> Path:
    """torchvision's cifar-10-batches-py: Python-2-era pickles of {"data": uint8 [n, 3072],
    "labels": [n ints], ...} and batches.meta with the label names."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for k, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        batch = {"batch_label": f"batch {k}", "labels": [(k + i) % 10 for i in range(per_batch)],
                 "data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
                 "filenames": [f"img_{k}_{i}.png" for i in range(per_batch)]}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    meta = {"num_cases_per_batch": per_batch, "label_names": CIFAR_NAMES, "num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return folder


COLOURS = {"cats": (255, 0, 0), "dogs": (0, 0, 255), "owls": (0, 255, 0)}


def image_folder(root: Path, classes=True) -> Path:
    """Non-square PNG and JPEG pictures, one colour per class (3 classes x 4, or 6 flat)."""
    root.mkdir(parents=True)
    for name, colour in COLOURS.items() if classes else [("", (200, 200, 200))]:
        (root / name).mkdir(exist_ok=True)
        for i in range(4 if classes else 6):
            suffix = ".png" if i % 2 else ".jpg"
            Image.new("RGB", (40 + i, 24), colour).save(root / name / f"{i}{suffix}")
    (root / "notes.txt").write_text("not an image")
    return root


# The registry and its schema


def test_schema_and_loaders_agree_on_settings_and_defaults():
    schema = yaml.safe_load(SCHEMA.read_text())
    assert schema["$defs"]["dataset"]["properties"]["source"]["enum"] == list(SOURCES)
    for source, loader in SOURCES.items():
        properties = schema["$defs"][source]["properties"]
        params = inspect.signature(loader).parameters
        assert set(properties) == set(params) | {"source"}, source
        for name, param in params.items():
            if param.default is param.empty:
                assert name in schema["$defs"][source]["required"], (source, name)
            elif "default" in properties[name] or "$ref" not in properties[name]:
                assert properties[name].get("default") == param.default, (source, name)


@pytest.mark.parametrize("datasets", [
    {"mnist": {"source": "mnist", "origin": "embedded"}},
    {"fashion": {"source": "fashion-mnist"}, "cifar": {"source": "cifar10", "root": "data"}},
    {"pets": {"source": "folder", "root": "pets", "size": 64, "channels": 1, "test_count": 5}},
    {"astronaut": {"source": "image", "image": "skimage:astronaut", "size": 32}},
])
def test_schema_accepts(datasets):
    validate(datasets, SCHEMA)


@pytest.mark.parametrize("datasets, key", [
    ({"a": {"source": "svhn"}}, "source"),
    ({"a": {"source": "mnist", "origin": "debian"}}, "origin"),
    ({"a": {"source": "mnist", "size": 32}}, "size"),
    ({"a": {"source": "folder"}}, "root"),
    ({"a": {"source": "folder", "root": "x", "size": 30}}, "size"),
    ({"a": {"source": "folder", "root": "x", "channels": 2}}, "channels"),
    ({"a": {"source": "folder", "root": "x", "test_fraction": 1.0}}, "test_fraction"),
    ({"a": {"source": "image"}}, "image"),
    ({"a": {"source": "image", "image": "x.png", "length": 0}}, "length"),
    ({"Bad Name": {"source": "mnist"}}, "Bad Name"),
])
def test_schema_rejects_naming_the_key(datasets, key):
    with pytest.raises(ConfigError, match=key):
        validate(datasets, SCHEMA)


def test_resolve_fills_defaults_and_drops_what_the_source_ignores():
    assert resolve({"source": "mnist", "origin": "embedded", "root": "/anywhere"}) == {
        "source": "mnist", "origin": "embedded", "embedded_test_size": 1000,
        "train_size": None, "test_size": None}
    assert "test_fraction" not in resolve({"source": "folder", "root": "x", "test_count": 3})
    with pytest.raises(DataError, match="no setting 'size'"):
        resolve({"source": "mnist", "size": 32})
    with pytest.raises(DataError, match="origin must be one of torchvision, folder, not 'x'"):
        prepare({"source": "cifar10", "origin": "x"})
    with pytest.raises(DataError, match="skimage:download_all"):
        resolve({"source": "image", "image": "skimage:download_all"})


# Each source on its real layout


def test_mnist_folder_reads_gz_and_plain_idx(tmp_path):
    plain = prepare({"source": "mnist", "origin": "folder",
                     "root": str(idx_folder(tmp_path / "a" / "MNIST" / "raw").parents[1])})
    packed = prepare({"source": "mnist", "origin": "folder",
                      "root": str(idx_folder(tmp_path / "b" / "MNIST" / "raw", suffix=".gz")
                                  .parents[1])})
    assert plain.train_images.shape == (30, 1, 28, 28)
    assert plain.test_images.shape == (10, 1, 28, 28)
    assert torch.equal(plain.train_images[:, 0, 0, 0], plain.train_labels.to(torch.uint8) * 20)
    assert plain.meta["fingerprint"] == packed.meta["fingerprint"]


def test_cifar10_folder_in_torchvision_pickle_format(tmp_path, monkeypatch):
    folder = cifar_folder(tmp_path)
    data = prepare({"source": "cifar10", "origin": "folder", "root": str(tmp_path)}, "cifar")
    assert data.train_images.shape == (20, 3, 32, 32) and data.test_images.shape == (4, 3, 32, 32)
    assert data.class_names == CIFAR_NAMES and data.meta["name"] == "cifar"
    assert data.meta["root"] == str(folder) and data.meta["channels"] == 3
    # The same pixels, labels and names as torchvision's own reader (its md5 checks switched
    # off: they reject these fakes), which keeps images as [N, H, W, C].
    from torchvision.datasets import CIFAR10

    monkeypatch.setattr("torchvision.datasets.cifar.check_integrity", lambda *args: True)
    for train, images, labels in ((True, data.train_images, data.train_labels),
                                  (False, data.test_images, data.test_labels)):
        reference = CIFAR10(str(tmp_path), train=train, download=False)
        assert torch.equal(images, torch.from_numpy(reference.data).permute(0, 3, 1, 2))
        assert labels.tolist() == reference.targets and reference.classes == data.class_names


def test_cifar10_present_locally_is_not_downloaded(tmp_path, monkeypatch):
    import torchvision.datasets

    def no_download(*args, **kwargs):
        raise AssertionError("downloaded although the batches are there")

    monkeypatch.setattr(torchvision.datasets.CIFAR10, "download", no_download)
    cifar_folder(tmp_path)
    data = prepare({"source": "cifar10", "root": str(tmp_path), "train_size": 6})
    assert len(data.train_labels) == 6 and data.meta["source"] == "torchvision"


def test_folder_with_class_subfolders(tmp_path):
    root = image_folder(tmp_path / "pets")
    entry = {"source": "folder", "root": str(root), "size": 8, "test_count": 3}
    data = prepare(entry)
    assert data.class_names == ["cats", "dogs", "owls"]
    assert data.train_images.shape == (9, 3, 8, 8) and data.test_images.shape == (3, 3, 8, 8)
    counts = torch.bincount(data.train_labels, minlength=3).tolist()
    assert data.meta["train_class_counts"] == counts and sum(counts) == 9
    # Each image carries its class's colour (JPEG is lossy: within a few levels).
    images = torch.cat([data.train_images, data.test_images]).float()
    labels = torch.cat([data.train_labels, data.test_labels])
    colours = torch.tensor([COLOURS[n] for n in data.class_names], dtype=torch.float32)
    expected = colours[labels][:, :, None, None].expand_as(images)
    assert (images - expected).abs().max() <= 8
    again = prepare(entry)
    assert again.meta["fingerprint"] == data.meta["fingerprint"]  # the split is deterministic
    other_seed = prepare({**entry, "seed": 1})
    assert not torch.equal(other_seed.test_labels, data.test_labels) or not torch.equal(
        other_seed.test_images, data.test_images)


def test_flat_folder_is_one_grey_class_cropped_at_the_centre(tmp_path):
    root = image_folder(tmp_path / "stones", classes=False)
    # A wide picture: red | green | blue thirds; the centre crop keeps the green.
    wide = np.zeros((30, 90, 3), dtype=np.uint8)
    wide[:, :30, 0], wide[:, 30:60, 1], wide[:, 60:, 2] = 255, 255, 255
    Image.fromarray(wide).save(root / "wide.png")
    data = prepare({"source": "folder", "root": str(root), "size": 12, "channels": 3,
                    "test_fraction": 0.25})
    assert data.class_names == ["stones"] and data.meta["files"] == 7
    assert len(data.test_labels) == 2 and len(data.train_labels) == 5  # round(0.25 * 7)
    images = torch.cat([data.train_images, data.test_images])
    inner = images[:, :, :, 2:-2]  # LANCZOS blends the columns at the crop's edges
    green = inner[(inner[:, 1] > 250).flatten(1).all(1)]
    assert len(green) == 1 and green[:, [0, 2]].max() <= 10
    grey = prepare({"source": "folder", "root": str(root), "size": 12, "channels": 1})
    assert grey.image_shape == (1, 12, 12)


def test_one_bundled_photo_repeated(tmp_path):
    data = prepare({"source": "image", "image": "skimage:astronaut", "size": 16, "length": 5})
    assert data.train_images.shape == (5, 3, 16, 16) and data.test_images.shape == (1, 3, 16, 16)
    assert (data.train_images == data.test_images).all() and data.class_names == ["astronaut"]
    assert data.train_images.float().std() > 10  # a photo, not a blank
    Image.fromarray(data.test_images[0].permute(1, 2, 0).numpy()).save(tmp_path / "a.png")
    local = prepare({"source": "image", "image": str(tmp_path / "a.png"), "size": 16,
                     "channels": 1, "length": 2})
    assert local.image_shape == (1, 16, 16) and local.class_names == ["a"]


def test_image_from_a_url(tmp_path):
    import functools
    import http.server
    import threading

    Image.new("RGB", (20, 10), (10, 200, 30)).save(tmp_path / "leaf.png")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/leaf.png"
        data = prepare({"source": "image", "image": url, "size": 8, "length": 2})
        missing = f"http://127.0.0.1:{server.server_port}/none.png"
        with pytest.raises(DataError, match=f"could not download {missing}.*skimage:astronaut"):
            prepare({"source": "image", "image": missing, "size": 8})
    finally:
        server.shutdown()
        server.server_close()
    assert data.class_names == ["leaf"] and data.test_images[0, :, 4, 4].tolist() == [10, 200, 30]


@pytest.mark.skipif(not Path(DEBIAN_FASHION_MNIST).is_dir(),
                    reason="Debian's dataset-fashion-mnist is not installed "
                           "(apt-get install dataset-fashion-mnist)")
def test_fashion_mnist_from_the_debian_package():
    data = prepare({"source": "fashion-mnist", "test_size": 1000})
    assert data.train_images.shape == (60000, 1, 28, 28) and len(data.test_labels) == 1000
    assert data.meta["train_class_counts"] == [6000] * 10
    assert data.class_names == FASHION_CLASSES and data.meta["source"] == "debian"


def test_save_and_load_keep_tensors_and_meta(tmp_path):
    data = prepare({"source": "image", "image": "skimage:coins", "size": 8, "length": 3}, "coins")
    prepare_data_script().main(
        {"source": "image", "image": "skimage:coins", "size": 8, "length": 3},
        tmp_path / "coins.pt", tmp_path / "coins.json", "coins")
    again = load_dataset(tmp_path / "coins.pt")
    assert isinstance(again, Dataset) and torch.equal(again.train_images, data.train_images)
    assert again.meta == data.meta
    assert yaml.safe_load((tmp_path / "coins.json").read_text()) == data.meta
    assert sorted(os.listdir(tmp_path)) == ["coins.json", "coins.pt"]  # no temporary left


# Bad data: one line naming the file, nothing written


def truncate(path: Path, keep: float = 0.5) -> None:
    path.write_bytes(path.read_bytes()[:int(len(path.read_bytes()) * keep)])


def mnist_case(tmp_path, damage):
    raw = idx_folder(tmp_path / "MNIST" / "raw")
    return {"source": "mnist", "origin": "folder", "root": str(tmp_path)}, damage(raw)


def truncated_images(raw):
    truncate(raw / "train-images-idx3-ubyte")
    return raw / "train-images-idx3-ubyte"


def random_labels(raw):
    (raw / "t10k-labels-idx1-ubyte").write_bytes(np.random.default_rng(0).bytes(60))
    return raw / "t10k-labels-idx1-ubyte"


def fewer_labels(raw):
    write_idx(raw / "train-labels-idx1-ubyte", np.arange(18) % 10)  # 30 images, 18 labels
    return raw / "train-labels-idx1-ubyte"


def missing_labels(raw):
    (raw / "t10k-labels-idx1-ubyte").unlink()
    return raw / "t10k-labels-idx1-ubyte"


def cut_gzip(tmp_path):
    raw = idx_folder(tmp_path / "FashionMNIST" / "raw", suffix=".gz")
    truncate(raw / "train-images-idx3-ubyte.gz", 0.8)
    return ({"source": "fashion-mnist", "origin": "folder", "root": str(tmp_path)},
            raw / "train-images-idx3-ubyte.gz")


def broken_image(tmp_path):
    root = image_folder(tmp_path / "pets")
    truncate(root / "dogs" / "1.png", 0.4)
    return {"source": "folder", "root": str(root)}, root / "dogs" / "1.png"


def not_an_image(tmp_path):
    root = image_folder(tmp_path / "pets")
    (root / "owls" / "fake.jpg").write_text("hello")
    return {"source": "folder", "root": str(root)}, root / "owls" / "fake.jpg"


def no_images(tmp_path):
    (tmp_path / "empty").mkdir(parents=True)
    (tmp_path / "empty" / "README.txt").write_text("pictures go here")
    return {"source": "folder", "root": str(tmp_path / "empty")}, tmp_path / "empty"


def missing_folder(tmp_path):
    return {"source": "folder", "root": str(tmp_path / "nowhere")}, tmp_path / "nowhere"


def corrupt_cifar(tmp_path):
    folder = cifar_folder(tmp_path)
    (folder / "data_batch_3").write_bytes(np.random.default_rng(1).bytes(500))
    return {"source": "cifar10", "origin": "folder", "root": str(tmp_path)}, folder / "data_batch_3"


def truncated_cifar(tmp_path):
    folder = cifar_folder(tmp_path)
    truncate(folder / "test_batch")
    return {"source": "cifar10", "origin": "folder", "root": str(tmp_path)}, folder / "test_batch"


def code_in_cifar(tmp_path):
    folder = cifar_folder(tmp_path)
    (folder / "batches.meta").write_bytes(pickle.dumps(os.getcwd, protocol=2))
    return {"source": "cifar10", "origin": "folder", "root": str(tmp_path)}, folder / "batches.meta"


def missing_cifar(tmp_path):
    return ({"source": "cifar10", "origin": "folder", "root": str(tmp_path)},
            tmp_path / "cifar-10-batches-py")


def missing_debian(tmp_path):
    return {"source": "fashion-mnist", "root": str(tmp_path / "none")}, tmp_path / "none"


def missing_photo(tmp_path):
    return {"source": "image", "image": str(tmp_path / "me.png")}, tmp_path / "me.png"


BAD_DATA = {
    "truncated IDX images": lambda p: mnist_case(p, truncated_images),
    "random bytes as labels": lambda p: mnist_case(p, random_labels),
    "more images than labels": lambda p: mnist_case(p, fewer_labels),
    "a missing labels file": lambda p: mnist_case(p, missing_labels),
    "a cut gzip": cut_gzip,
    "a truncated PNG in a folder": broken_image,
    "text named .jpg": not_an_image,
    "a folder without images": no_images,
    "a missing folder": missing_folder,
    "random bytes as a CIFAR batch": corrupt_cifar,
    "a truncated CIFAR batch": truncated_cifar,
    "a pickle that would run code": code_in_cifar,
    "no CIFAR folder": missing_cifar,
    "Fashion-MNIST not installed": missing_debian,
    "a missing photo": missing_photo,
}


@pytest.mark.parametrize("case", BAD_DATA)
def test_bad_data_names_the_file_and_writes_nothing(case, tmp_path):
    entry, culprit = BAD_DATA[case](tmp_path / "in")
    out = tmp_path / "results"
    out.mkdir()
    with pytest.raises(DataError) as err:
        prepare_data_script().main(entry, out / "set.pt", out / "set.json", "set")
    message = str(err.value)
    assert str(culprit) in message or str(culprit.resolve()) in message, message
    assert "\n" not in message and "Traceback" not in message
    assert list(out.iterdir()) == []


def test_missing_fashion_mnist_says_how_to_install(tmp_path):
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        prepare({"source": "fashion-mnist", "root": str(tmp_path / "none")})


def test_the_files_a_source_reads_are_listed_for_the_workflow(tmp_path):
    """Every local file a data job reads is its input; downloads and bundled photos are not."""
    from diffusionlab.data.layout import input_files

    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "t10k-labels-idx1-ubyte.gz"):
        (raw / name).write_bytes(b"")
    assert sorted(input_files({"source": "mnist", "origin": "folder", "root": str(tmp_path)})) \
        == [str(raw / "t10k-labels-idx1-ubyte.gz"), str(raw / "train-images-idx3-ubyte")]
    assert input_files({"source": "mnist", "origin": "torchvision", "root": str(tmp_path)}) == []

    photos = tmp_path / "photos"
    (photos / "dogs").mkdir(parents=True)
    for name in ("dogs/a.png", "dogs/.hidden.png", "dogs/notes.txt", "b.JPG"):
        (photos / name).write_bytes(b"")
    assert sorted(input_files({"source": "folder", "root": str(photos)})) == \
        [str(photos / "b.JPG"), str(photos / "dogs" / "a.png")]

    cifar = tmp_path / "cifar-10-batches-py"
    cifar.mkdir()
    (cifar / "data_batch_1").write_bytes(b"")
    assert input_files({"source": "cifar10", "origin": "folder", "root": str(tmp_path)}) == \
        [str(cifar / "data_batch_1")]

    image = photos / "b.JPG"
    assert input_files({"source": "image", "image": str(image)}) == [str(image)]
    assert input_files({"source": "image", "image": "skimage:chelsea"}) == []
    assert input_files({"source": "image", "image": "https://example.org/a.png"}) == []
