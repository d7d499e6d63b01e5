"""How good generated digits are, judged by the classifier.

- Frechet distance in the classifier's feature space between a fixed number of generated
  digits and the test digits. Its floor is the distance between as many *real* training
  digits and the same test digits: a sampler that matched the data would land there.
- Class accuracy: the fraction of digits generated for class c that the classifier reads as c.
- The judge's reading of each sample (`judged`): its most probable class, that probability
  (the confidence) and, for a class-conditioned model, the probability of the requested class;
  the targets are computed from it on samples drawn exactly as a figure draws them
  (`figure_batches`).

Generated digits are clipped to [0, 1], as they are shown, before the classifier sees them.
All samplers of one table start from the same noise (one generator per configuration, seeded
alike), so differences between rows come from the samplers, not from the draw.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import pandas as pd
import torch
from torch import nn

from ..models import is_class_conditional
from ..sampling import sample
from ..schedule import DDPMSchedule
from .classifier import DigitClassifier, features, probabilities
from .frechet import feature_frechet_distance


def per_class_accuracy(probs: torch.Tensor, labels: torch.Tensor) -> pd.DataFrame:
    """For each class present in `labels`: samples, accuracy and mean probability of the class."""
    labels = labels.cpu().long()
    correct = probs.argmax(dim=1) == labels
    p_label = probs.gather(1, labels[:, None])[:, 0].double()
    rows = []
    for c in labels.unique().tolist():
        mask = labels == c
        rows.append({"digit": c, "samples": int(mask.sum()),
                     "accuracy": correct[mask].double().mean().item(),
                     "mean_probability": p_label[mask].mean().item()})
    return pd.DataFrame(rows)


def balanced_classes(num_samples: int, num_classes: int = 10) -> torch.Tensor:
    """0, 1, ..., 9, 0, 1, ...: as even a class mix as num_samples allows."""
    return torch.arange(num_samples) % num_classes


def generate(
    model: nn.Module,
    schedule: DDPMSchedule,
    num_samples: int,
    seed: int,
    batch_size: int,
    device: torch.device | str = "cpu",
    **sampler,
) -> torch.Tensor:
    """`sampling.sample` in batches from one generator, clipped to [0, 1].

    `sampler` holds num_steps, method, spacing, variance, guidance and, for a class-conditioned
    model, `classes` for all num_samples digits (sliced per batch here). DDPM draws its noise
    batch by batch, so its samples depend on batch_size as well as on the seed.
    """
    classes = sampler.pop("classes", None)
    if is_class_conditional(model) and classes is None:
        raise ValueError("a class-conditioned model needs the classes to generate")
    g = torch.Generator().manual_seed(seed)
    out = []
    for lo in range(0, num_samples, batch_size):
        n = min(batch_size, num_samples - lo)
        c = None if classes is None else classes[lo : lo + n]
        out.append(sample(model, schedule, n, generator=g, classes=c, device=device,
                          **sampler)[0])
    return torch.cat(out).clamp(0, 1)


def real_reference(
    classifier: DigitClassifier,
    train_images: torch.Tensor,
    test_images: torch.Tensor,
    num_samples: int,
) -> tuple[torch.Tensor, float]:
    """The test images' features in the judge's feature space, and the floor: the distance of
    num_samples training images to them (MNIST's digits, or a deep dive's labelled set)."""
    if len(train_images) < num_samples:
        raise ValueError(f"the floor needs {num_samples} training digits, not {len(train_images)}")
    reference = features(classifier, test_images)
    floor = feature_frechet_distance(features(classifier, train_images[:num_samples]), reference)
    return reference, floor


def sampler_quality(
    model: nn.Module,
    schedule: DDPMSchedule,
    classifier: DigitClassifier,
    train_images: torch.Tensor,
    test_images: torch.Tensor,
    *,
    num_samples: int,
    **sampler,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Quality of each (method, steps) sampler, and its wall time, as two tables.

    quality: method, steps, samples, frechet_distance, floor (train vs test digits) and, for a
    class-conditioned model (classes 0..9 in turn, CFG scale `guidance`), class_accuracy.
    timing: method, steps, samples, seconds, device. Wall time is the one quantity that changes
    from run to run, hence its own table. `sampler`: the keyword arguments of `_quality_rows`.
    """
    reference = real_reference(classifier, train_images, test_images, num_samples)
    return _quality_rows(model, schedule, classifier, reference, num_samples=num_samples, **sampler)


def _quality_rows(
    model: nn.Module,
    schedule: DDPMSchedule,
    classifier: DigitClassifier,
    reference: tuple[torch.Tensor, float],
    *,
    steps: Sequence[int],
    methods: Sequence[str],
    num_samples: int,
    seed: int,
    guidance: float = 0.0,
    spacing: str = "trailing",
    variance: str = "beta",
    batch_size: int = 500,
    device: torch.device | str = "cpu",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """sampler_quality against a reference from `real_reference`."""
    test_features, floor = reference
    conditional = is_class_conditional(model)
    classes = balanced_classes(num_samples) if conditional else None
    quality, timing = [], []
    for method in methods:
        for num_steps in steps:
            start = time.perf_counter()
            x = generate(model, schedule, num_samples, seed, batch_size, device,
                         num_steps=num_steps, method=method, spacing=spacing,
                         variance=variance, classes=classes, guidance=guidance)
            seconds = time.perf_counter() - start
            distance = feature_frechet_distance(features(classifier, x), test_features)
            row = {"method": method, "steps": num_steps, "samples": num_samples,
                   "frechet_distance": distance, "floor": floor}
            if conditional:
                probs = probabilities(classifier, x)
                row["class_accuracy"] = (probs.argmax(1) == classes).double().mean().item()
            quality.append(row)
            timing.append({"method": method, "steps": num_steps, "samples": num_samples,
                           "seconds": seconds, "device": str(device)})
    return pd.DataFrame(quality), pd.DataFrame(timing)


def checkpoint_quality(
    models: Mapping[int, nn.Module],
    schedule: DDPMSchedule,
    classifier: DigitClassifier,
    train_images: torch.Tensor,
    test_images: torch.Tensor,
    *,
    num_samples: int,
    **sampler,
) -> pd.DataFrame:
    """Sample quality of each checkpoint ({epoch: model}) over training: DDPM with every step
    of the schedule, as the figures of part B sample.

    Rows: epoch, samples, frechet_distance, floor, ratio (distance / floor) and, for a
    class-conditioned model, class_accuracy. `sampler` holds the keyword arguments of
    `sampler_quality` other than steps and methods; with the same ones, its row for the last
    epoch is sampler_quality's full-step DDPM row. The reference is computed once for all epochs.
    """
    reference = real_reference(classifier, train_images, test_images, num_samples)
    rows = []
    for epoch, model in models.items():
        quality, _ = _quality_rows(model, schedule, classifier, reference,
                                   steps=[schedule.num_steps], methods=["ddpm"],
                                   num_samples=num_samples, **sampler)
        rows.append({"epoch": epoch, **quality.drop(columns=["method", "steps"]).iloc[0]})
    table = pd.DataFrame(rows)
    table.insert(4, "ratio", table["frechet_distance"] / table["floor"])
    return table.astype({"epoch": int, "samples": int})


def guidance_accuracy(
    model: nn.Module,
    schedule: DDPMSchedule,
    classifier: DigitClassifier,
    *,
    digits: Sequence[int],
    guidances: Sequence[float],
    samples_per_digit: int,
    seed: int,
    num_steps: int | None = None,
    method: str = "ddpm",
    spacing: str = "trailing",
    variance: str = "beta",
    batch_size: int = 500,
    device: torch.device | str = "cpu",
) -> pd.DataFrame:
    """Class accuracy of guided samples: guidance, digit, samples, accuracy, mean_probability.

    Every guidance scale starts from the same noise; num_steps None samples all T steps.
    """
    classes = torch.tensor(list(digits)).repeat_interleave(samples_per_digit)
    tables = []
    for gamma in guidances:
        x = generate(model, schedule, len(classes), seed, batch_size, device,
                     num_steps=num_steps or schedule.num_steps, method=method, spacing=spacing,
                     variance=variance, classes=classes, guidance=gamma)
        table = per_class_accuracy(probabilities(classifier, x), classes)
        tables.append(table.assign(guidance=float(gamma)))
    columns = ["guidance", "digit", "samples", "accuracy", "mean_probability"]
    return pd.concat(tables, ignore_index=True)[columns]


def figure_batches(
    model: nn.Module,
    schedule: DDPMSchedule,
    *,
    batches: int,
    batch_size: int,
    seed: int,
    classes: torch.Tensor | None = None,
    guidance: float = 0.0,
    variance: str = "beta",
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """batches x batch_size samples drawn as a part B figure draws its grid of batch_size:
    `diffusionlab.sampling.sample` (ancestral DDPM, all T steps) on batches of the figure's
    size, one generator seeded with the figure's seed, `classes` (one per sample of a batch)
    the same in every batch. The first batch is the figure's grid; clipped to [0, 1]."""
    if classes is not None and len(classes) != batch_size:
        raise ValueError(f"{len(classes)} classes for batches of {batch_size}")
    g = torch.Generator().manual_seed(seed)
    drawn = [sample(model, schedule, batch_size, generator=g, classes=classes, guidance=guidance,
                    variance=variance, device=device)[0] for _ in range(batches)]
    return torch.cat(drawn).clamp(0, 1)


def judged(
    classifier: DigitClassifier, images: torch.Tensor, requested: torch.Tensor | None = None
) -> pd.DataFrame:
    """The judge's reading of each sample: sample, predicted, confidence (its probability) and,
    with the requested classes, requested and p_requested."""
    probs = probabilities(classifier, images).double()
    confidence, predicted = probs.max(dim=1)
    table = pd.DataFrame({"sample": range(len(probs)), "predicted": predicted.numpy(),
                          "confidence": confidence.numpy()})
    if requested is not None:
        requested = requested.cpu().long()
        table["requested"] = requested.numpy()
        table["p_requested"] = probs.gather(1, requested[:, None])[:, 0].numpy()
    return table
