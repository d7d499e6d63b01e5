"""Sample quality tables on a tiny model: floors, known values, determinism of the files."""

import pandas as pd
import pytest
import torch

from diffusionlab.data import load_mnist
from diffusionlab.evaluation.classifier import features, probabilities, train_classifier
from diffusionlab.evaluation.frechet import feature_frechet_distance
from diffusionlab.evaluation.sample_quality import (
    balanced_classes,
    checkpoint_quality,
    figure_batches,
    generate,
    guidance_accuracy,
    judged,
    per_class_accuracy,
    sampler_quality,
)
from diffusionlab.sampling import sample
from diffusionlab.schedule import DDPMSchedule
from diffusionlab.unet import ClassConditionalUNet, TimeConditionalUNet

SCHEDULE = DDPMSchedule.linear(300, 1e-4, 0.02)


@pytest.fixture(scope="module")
def mnist():
    return load_mnist("folder", "/work/shared/datasets/mnist-5k", train_size=1000, test_size=300)


@pytest.fixture(scope="module")
def classifier(mnist):
    return train_classifier(mnist.train_images, mnist.train_labels, epochs=1, batch_size=20,
                            lr=1e-2, seed=0, channels=(4, 8), features=16)


def tiny(cls, seed: int = 0):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return cls(hidden=4).eval()


def run_quality(model, classifier, mnist):
    return sampler_quality(model, SCHEDULE, classifier, mnist.train_images, mnist.test_images,
                           steps=[10, 5], methods=["ddpm", "ddim"], num_samples=30, seed=7,
                           guidance=3.0, batch_size=16)


def test_sampler_quality_table(classifier, mnist, tmp_path):
    model = tiny(ClassConditionalUNet)
    quality, timing = run_quality(model, classifier, mnist)
    assert list(quality.columns) == ["method", "steps", "samples", "frechet_distance", "floor",
                                     "class_accuracy"]
    assert list(zip(quality["method"], quality["steps"], strict=True)) == [
        ("ddpm", 10), ("ddpm", 5), ("ddim", 10), ("ddim", 5)]
    real = features(classifier, mnist.train_images[:30])
    floor = feature_frechet_distance(real, features(classifier, mnist.test_images))
    assert quality["floor"].eq(floor).all()
    # an untrained UNet makes no digits: far above the floor of real digits
    assert (quality["frechet_distance"] > 2 * floor).all()
    assert quality["class_accuracy"].between(0, 1).all()
    assert list(timing.columns) == ["method", "steps", "samples", "seconds", "device"]
    assert (timing["seconds"] > 0).all()
    # the metric file is the same on a second run
    again, _ = run_quality(model, classifier, mnist)
    quality.to_csv(tmp_path / "a.csv", index=False)
    again.to_csv(tmp_path / "b.csv", index=False)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_time_conditioned_model_has_no_class_accuracy(classifier, mnist):
    quality, _ = sampler_quality(tiny(TimeConditionalUNet), SCHEDULE, classifier,
                                 mnist.train_images, mnist.test_images, steps=[4],
                                 methods=["ddim"], num_samples=12, seed=0)
    assert "class_accuracy" not in quality.columns and len(quality) == 1


def test_checkpoint_quality_is_full_step_ddpm_per_epoch(classifier, mnist):
    schedule = DDPMSchedule.linear(20, 1e-4, 0.02)  # all steps, kept few for speed
    models = {2: tiny(ClassConditionalUNet, 1), 5: tiny(ClassConditionalUNet, 2)}
    sampler = {"num_samples": 12, "seed": 3, "guidance": 5.0, "batch_size": 8}
    table = checkpoint_quality(models, schedule, classifier, mnist.train_images,
                               mnist.test_images, **sampler)
    assert list(table.columns) == ["epoch", "samples", "frechet_distance", "floor", "ratio",
                                   "class_accuracy"]
    assert table["epoch"].tolist() == [2, 5] and table["samples"].eq(12).all()
    assert table["ratio"].tolist() == (table["frechet_distance"] / table["floor"]).tolist()
    assert table["frechet_distance"].nunique() == 2  # different weights, different samples
    # the last epoch's row is the full-step DDPM row of the fewer-steps table
    quality, _ = sampler_quality(models[5], schedule, classifier, mnist.train_images,
                                 mnist.test_images, steps=[20], methods=["ddpm"], **sampler)
    for column in ("frechet_distance", "floor", "class_accuracy"):
        assert table[column].iloc[-1] == quality[column].iloc[0]


def test_the_floor_needs_as_many_training_digits_as_samples(classifier, mnist):
    with pytest.raises(ValueError, match="the floor needs 1001 training digits, not 1000"):
        checkpoint_quality({1: tiny(TimeConditionalUNet)}, SCHEDULE, classifier,
                           mnist.train_images, mnist.test_images, num_samples=1001, seed=0)


def test_generation_does_not_depend_on_the_batch_size_for_ddim():
    model = tiny(ClassConditionalUNet)
    kwargs = {"num_steps": 4, "method": "ddim", "classes": balanced_classes(5), "guidance": 2.0}
    whole = generate(model, SCHEDULE, 5, 0, batch_size=5, **kwargs)
    assert whole.min() >= 0 and whole.max() <= 1
    # DDIM draws noise only at the start: same images whatever the batching
    torch.testing.assert_close(generate(model, SCHEDULE, 5, 0, batch_size=2, **kwargs), whole)
    with pytest.raises(ValueError, match="classes"):
        generate(model, SCHEDULE, 5, 0, batch_size=5, num_steps=4)


def test_guidance_accuracy_table(classifier, tmp_path):
    model = tiny(ClassConditionalUNet)

    def run():
        return guidance_accuracy(model, SCHEDULE, classifier, digits=[1, 7], guidances=[0, 5],
                                 samples_per_digit=3, seed=1, num_steps=5)

    table = run()
    assert list(table.columns) == ["guidance", "digit", "samples", "accuracy", "mean_probability"]
    assert table[["guidance", "digit", "samples"]].values.tolist() == [
        [0, 1, 3], [0, 7, 3], [5, 1, 3], [5, 7, 3]]
    assert table["accuracy"].between(0, 1).all() and table["mean_probability"].between(0, 1).all()
    table.to_csv(tmp_path / "a.csv", index=False)
    run().to_csv(tmp_path / "b.csv", index=False)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_per_class_accuracy_known_values():
    probs = torch.tensor([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.7, 0.3]])
    table = per_class_accuracy(probs, torch.tensor([0, 0, 1, 1]))
    expected = pd.DataFrame({"digit": [0, 1], "samples": [2, 2], "accuracy": [0.5, 0.5],
                             "mean_probability": [0.65, 0.55]})
    pd.testing.assert_frame_equal(table, expected, atol=1e-7)


def test_figure_batches_begin_with_the_figures_own_grid():
    """The targets' samples: the first batch is exactly what the sample figure draws (the same
    function, seed, batch, classes and guidance); later batches go on with new noise."""
    schedule = DDPMSchedule.linear(12, 1e-4, 0.02)
    model, classes = tiny(ClassConditionalUNet), torch.arange(3).repeat(2)
    x = figure_batches(model, schedule, batches=3, batch_size=6, seed=4, classes=classes,
                       guidance=5.0)
    grid, _ = sample(model, schedule, 6, generator=torch.Generator().manual_seed(4),
                     classes=classes, guidance=5.0)
    assert x.shape == (18, 1, 28, 28) and x.min() >= 0 and x.max() <= 1
    assert torch.equal(x[:6], grid.clamp(0, 1))
    assert not torch.equal(x[6:12], x[:6]) and not torch.equal(x[12:], x[6:12])
    unguided = figure_batches(model, schedule, batches=1, batch_size=6, seed=4, classes=classes)
    assert not torch.equal(unguided, x[:6])  # the guidance reaches the sampler
    with pytest.raises(ValueError, match="5 classes for batches of 6"):
        figure_batches(model, schedule, batches=1, batch_size=6, seed=4, classes=classes[:5])


def test_judged_reads_every_sample(classifier, mnist):
    x = mnist.test_images[:7]
    requested = torch.tensor([0, 1, 2, 3, 4, 5, 6])
    table = judged(classifier, x, requested)
    probs = probabilities(classifier, x).double()
    assert list(table.columns) == ["sample", "predicted", "confidence", "requested",
                                   "p_requested"]
    assert table["sample"].tolist() == list(range(7))
    assert table["predicted"].tolist() == probs.argmax(1).tolist()
    assert table["confidence"].to_numpy() == pytest.approx(probs.max(1).values.numpy())
    assert table["p_requested"].to_numpy() == pytest.approx(probs[range(7), requested].numpy())
    assert list(judged(classifier, x).columns) == ["sample", "predicted", "confidence"]
