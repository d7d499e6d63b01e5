"""MNIST sources: the bundled sample, a local folder, and clear errors when data is missing."""

from pathlib import Path

import pytest
import torch

from diffusionlab.data import MNIST, DataError, load_mnist

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "mnist-5k"


def test_embedded_sample_is_split_by_class():
    mnist = load_mnist("embedded", embedded_test_size=1000)
    assert mnist.train_images.shape == (4000, 28, 28) and mnist.train_images.dtype == torch.uint8
    assert torch.bincount(mnist.test_labels).tolist() == [100] * 10
    assert torch.bincount(mnist.train_labels[:1000], minlength=10).min() > 60  # shuffled
    assert mnist.meta["source"] == "embedded" and mnist.meta["train_digits"] == 4000


def test_subsets_keep_a_prefix():
    mnist = load_mnist("embedded", train_size=100, test_size=20)
    assert len(mnist.train_labels) == 100 and len(mnist.test_labels) == 20
    with pytest.raises(DataError, match="only 4000"):
        load_mnist("embedded", train_size=10_000)


@pytest.mark.skipif(not SHARED.is_dir(), reason="the offline MNIST folder is not beside the repo")
def test_local_folder_in_torchvision_layout(tmp_path):
    mnist = load_mnist("folder", str(SHARED), test_size=500)
    assert mnist.train_images.shape == (5000, 28, 28) and len(mnist.test_labels) == 500
    mnist.save(tmp_path / "m.pt")
    again = MNIST.load(tmp_path / "m.pt")
    assert torch.equal(again.train_images, mnist.train_images) and again.meta == mnist.meta


def test_missing_folder_says_how_to_fix(tmp_path):
    with pytest.raises(DataError) as err:
        load_mnist("folder", str(tmp_path))
    assert "data.source=embedded" in str(err.value) and "data.root=" in str(err.value)


def test_offline_download_failure_says_how_to_fix(tmp_path, monkeypatch):
    import torchvision.datasets.mnist as tv

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(tv.MNIST, "download", offline)
    with pytest.raises(DataError, match="could not be downloaded.*data.source=embedded"):
        load_mnist("torchvision", str(tmp_path))
