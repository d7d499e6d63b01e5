"""The MNIST classifier: training determinism, its evaluation functions, checkpoints."""

import pytest
import torch

from diffusionlab.data import as_float, load_mnist
from diffusionlab.evaluation.classifier import (
    DigitClassifier,
    accuracy,
    features,
    load_classifier,
    predict,
    probabilities,
    random_affine,
    save_classifier,
    train_classifier,
)
from diffusionlab.evaluation.sample_quality import per_class_accuracy

MNIST_FOLDER = "/work/shared/datasets/mnist-5k"
TINY = {"channels": (4, 8), "features": 16}


@pytest.fixture(scope="module")
def mnist():
    return load_mnist("folder", MNIST_FOLDER, train_size=1000, test_size=1000)


def tiny_classifier(mnist, seed=0):
    return train_classifier(mnist.train_images, mnist.train_labels, epochs=1, batch_size=20,
                            lr=1e-2, seed=seed, **TINY)


@pytest.fixture(scope="module")
def model(mnist):
    return tiny_classifier(mnist)


def test_accuracy_on_real_test_digits_matches_its_evaluation(model, mnist):
    x, y = mnist.test_images, mnist.test_labels
    reported = accuracy(model, x, y, batch_size=128)
    with torch.no_grad():
        by_hand = (model(as_float(x)).argmax(dim=1) == y).double().mean().item()
    table = per_class_accuracy(probabilities(model, x), y)
    weighted = (table["accuracy"] * table["samples"]).sum() / table["samples"].sum()
    assert reported == pytest.approx(by_hand, abs=1e-12)
    assert weighted == pytest.approx(reported, abs=1e-12)
    assert table["samples"].sum() == len(y) and sorted(table["digit"]) == list(range(10))
    assert reported > 0.5  # 50 steps on 1000 digits: far above chance (0.1)


def test_training_is_deterministic_for_a_seed(mnist, model):
    again = tiny_classifier(mnist)
    other = tiny_classifier(mnist, seed=1)
    for name, w in model.state_dict().items():
        assert torch.equal(w, again.state_dict()[name]), name
    assert not torch.equal(model.head.weight, other.head.weight)


def test_outputs_agree_across_batch_sizes_and_input_forms(model, mnist):
    u8 = mnist.test_images[:37]
    p = probabilities(model, u8, batch_size=1000)
    assert p.shape == (37, 10) and torch.allclose(p.sum(1), torch.ones(37), atol=1e-6)
    torch.testing.assert_close(probabilities(model, as_float(u8), batch_size=5), p)
    torch.testing.assert_close(probabilities(model, as_float(u8)[:, 0]), p)
    f = features(model, u8, batch_size=4)
    assert f.shape == (37, 16) and (f >= 0).all()  # after the ReLU
    torch.testing.assert_close(f, features(model, u8, batch_size=1000))
    assert torch.equal(predict(model, u8), p.argmax(1))


def test_checkpoint_loads_with_weights_only(model, mnist, tmp_path):
    path = tmp_path / "classifier.pt"
    save_classifier(model, path, meta={"epochs": 1, "test_accuracy": 0.5})
    raw = torch.load(path, weights_only=True)
    assert raw["channels"] == [4, 8] and raw["meta"]["epochs"] == 1
    loaded = load_classifier(path)
    x = mnist.test_images[:20]
    assert torch.equal(probabilities(loaded, x), probabilities(model, x))


def test_rejects_mismatched_labels(mnist):
    with pytest.raises(ValueError, match="labels"):
        train_classifier(mnist.train_images[:10], mnist.train_labels[:9], 1, 5, 1e-3, 0)


def test_every_epoch_trains_on_every_image_given(mnist, monkeypatch):
    """The judge sees every training digit each epoch: 1000 in batches of 300 (the last 100)."""
    epochs, batches = [], []
    forward = DigitClassifier.forward

    def counting_forward(self, x):
        if self.training:
            batches.append(len(x))
        return forward(self, x)

    monkeypatch.setattr(DigitClassifier, "forward", counting_forward)
    train_classifier(mnist.train_images, mnist.train_labels, epochs=2, batch_size=300, lr=1e-3,
                     seed=0, on_epoch=lambda *args: epochs.append(args), **TINY)
    assert [(e, seen) for e, _, seen in epochs] == [(1, 1000), (2, 1000)]
    assert batches == [300, 300, 300, 100] * 2
    assert all(loss > 0 for _, loss, _ in epochs)


def centre_of_mass(x: torch.Tensor) -> torch.Tensor:
    """[N, 2] (row, column) of each image's ink."""
    grid = torch.arange(x.shape[-1], dtype=torch.float64)
    mass = x.double().sum(dim=(1, 2, 3))
    rows = (x.double().sum(dim=(1, 3)) * grid).sum(1) / mass
    cols = (x.double().sum(dim=(1, 2)) * grid).sum(1) / mass
    return torch.stack([rows, cols], 1)


def test_random_affine_is_the_identity_at_zero_and_moves_digits_by_at_most_its_shift(mnist):
    x = as_float(mnist.test_images[:200])
    g = torch.Generator().manual_seed(0)
    torch.testing.assert_close(random_affine(x, g, shift=0, degrees=0, scale=0), x,
                               atol=1e-5, rtol=0)
    moved = random_affine(x, torch.Generator().manual_seed(1), shift=2, degrees=0, scale=0)
    step = (centre_of_mass(moved) - centre_of_mass(x)).abs()
    assert step.max() <= 2.05  # pixels, bilinear resampling aside
    assert (step.max(dim=1).values > 0.5).float().mean() > 0.5  # most digits really move
    again = random_affine(x, torch.Generator().manual_seed(1), shift=2, degrees=0, scale=0)
    assert torch.equal(moved, again)  # the generator decides everything
    turned = random_affine(x, torch.Generator().manual_seed(2))  # the defaults: all three
    assert turned.shape == x.shape and not torch.allclose(turned, x, atol=0.1)
    assert torch.allclose(turned.sum(dim=(1, 2, 3)), x.sum(dim=(1, 2, 3)), rtol=0.3)


def test_augmentation_dropout_and_one_cycle_change_training_and_keep_checkpoints(mnist, tmp_path):
    def fit(**options):
        return train_classifier(mnist.train_images[:200], mnist.train_labels[:200], epochs=1,
                                batch_size=50, lr=1e-2, seed=0, **TINY, **options)

    plain = fit()
    for options in ({"augment": True}, {"dropout": 0.5}, {"lr_schedule": "onecycle"}):
        other = fit(**options)
        assert not torch.equal(other.head.weight, plain.head.weight), options
        assert torch.equal(fit(**options).head.weight, other.head.weight), options  # seeded
    dropped = fit(dropout=0.5)
    assert dropped.state_dict().keys() == plain.state_dict().keys()
    x = as_float(mnist.test_images[:8])
    with torch.no_grad():
        assert torch.equal(dropped(x), dropped(x))  # eval mode: dropout off
        dropped.train()
        assert not torch.equal(dropped(x), dropped(x))
    dropped.eval()
    save_classifier(dropped, tmp_path / "c.pt")
    assert torch.equal(probabilities(load_classifier(tmp_path / "c.pt"), x),
                       probabilities(dropped, x))
    with pytest.raises(ValueError, match="lr_schedule"):
        fit(lr_schedule="cosine")


def test_vgg_stages_build_train_and_rebuild_from_their_checkpoint(mnist, tmp_path):
    """Two 3x3 convolutions with batch norm per stage: other weights, the same interface, and a
    checkpoint that names its stages (a LeNet loaded with vgg tensors would fail)."""
    vgg = train_classifier(mnist.train_images[:200], mnist.train_labels[:200], epochs=1,
                           batch_size=50, lr=1e-2, seed=0, arch="vgg", **TINY)
    convs = [m for m in vgg.body if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == [
        (1, 4, (3, 3)), (4, 4, (3, 3)), (4, 8, (3, 3)), (8, 8, (3, 3))]
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in vgg.body) == 4
    x = mnist.test_images[:37]
    p = probabilities(vgg, x, batch_size=1000)
    torch.testing.assert_close(probabilities(vgg, x, batch_size=5), p)  # eval-mode batch norm
    assert features(vgg, x).shape == (37, 16)
    save_classifier(vgg, tmp_path / "vgg.pt")
    assert torch.load(tmp_path / "vgg.pt", weights_only=True)["arch"] == "vgg"
    assert torch.equal(probabilities(load_classifier(tmp_path / "vgg.pt"), x), p)
    colour = DigitClassifier(TINY["channels"], TINY["features"], 5, in_channels=3,
                             image_size=32, arch="vgg")
    assert colour(torch.rand(2, 3, 32, 32)).shape == (2, 5)
    with pytest.raises(ValueError, match="arch"):
        DigitClassifier(arch="resnet")


def test_bf16_training_keeps_fp32_weights_and_reads_digits_as_well(mnist, monkeypatch):
    """The fast path (bf16 autocast, channels-last) computes in bf16, keeps its weights in
    fp32, and trains to the accuracy of fp32 training within the seed noise of a tiny judge."""
    scores = []  # the dtype of every forward pass's scores
    forward = DigitClassifier.forward

    def spy(self, x):
        out = forward(self, x)
        scores.append(out.dtype)
        return out

    monkeypatch.setattr(DigitClassifier, "forward", spy)
    kwargs = {"epochs": 4, "batch_size": 50, "lr": 1e-2, "seed": 0, "arch": "vgg", **TINY}
    fp32 = train_classifier(mnist.train_images, mnist.train_labels, **kwargs)
    assert set(scores) == {torch.float32}
    scores.clear()
    bf16 = train_classifier(mnist.train_images, mnist.train_labels, autocast_bf16=True, **kwargs)
    assert set(scores) == {torch.bfloat16}
    assert {p.dtype for p in bf16.parameters()} == {torch.float32}
    x, y = mnist.test_images, mnist.test_labels
    a32, a16 = accuracy(fp32, x, y), accuracy(bf16, x, y)
    assert a16 > 0.7 and abs(a16 - a32) < 0.03, (a16, a32)  # 0.81 and 0.79 (chance: 0.1)
    torch.testing.assert_close(probabilities(bf16, x[:5], batch_size=2),
                               probabilities(bf16, x[:5]))  # it reads in fp32, any layout
