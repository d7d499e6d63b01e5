"""Memorisation and fidelity of a deep dive run's samples.

Distances are RMS pixel distances between float images in [0, 1]: sqrt(mean((a - b)^2)) over
all pixels and channels, so one threshold reads the same at every image size and channel count.
Fidelity of a labelled set's samples: the Frechet distance in its judge's features to the test
split, beside its floor (as many training images); the standard FID is evaluation.fid's.
"""

from __future__ import annotations

import pandas as pd
import torch

from ..evaluation.classifier import DigitClassifier, features
from ..evaluation.frechet import feature_frechet_distance
from ..evaluation.sample_quality import real_reference


def flat(images: torch.Tensor) -> torch.Tensor:
    return images.reshape(len(images), -1).float()


@torch.no_grad()
def nearest(queries: torch.Tensor, references: torch.Tensor,
            batch_size: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """For each query image its nearest reference image (L2): (RMS distances [n], indices [n]).

    References are scanned in batches, so 60,000 training images never sit in one matrix."""
    q = flat(queries)
    best = torch.full((len(q),), float("inf"))
    index = torch.zeros(len(q), dtype=torch.long)
    for lo in range(0, len(references), batch_size):
        d = torch.cdist(q, flat(references[lo : lo + batch_size]))  # [n, b]
        value, where = d.min(dim=1)
        better = value < best
        best[better], index[better] = value[better], where[better] + lo
    return best / q.shape[1] ** 0.5, index


def near_copy_share(distances: torch.Tensor, threshold: float) -> float:
    """Share of images whose nearest-neighbour RMS distance is below the threshold."""
    return float((distances < threshold).float().mean()) if len(distances) else float("nan")


def psnr(samples: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """PSNR (dB, peak 1) of each sample [N, C, H, W] to one image [C, H, W], samples clamped to
    [0, 1] as their pixels are."""
    mse = ((samples.clamp(0, 1) - image) ** 2).flatten(1).mean(dim=1)
    return 10 * torch.log10(1.0 / mse.clamp_min(1e-12))


def memorisation(samples: torch.Tensor, train: torch.Tensor, held_out: torch.Tensor | None,
                 threshold: float) -> dict:
    """Each sample's nearest training image and the share of near-copies; for held-out images
    (as many as there are samples, or fewer) the same, as the reference a model that does not
    copy should match.

    Returns {"samples": (distances, indices), "held_out": (distances, indices) or None,
    "summary": {...}}; images float [N, C, H, W] in [0, 1] (samples are clamped first)."""
    samples = samples.clamp(0, 1)
    d, i = nearest(samples, train)
    summary = {"near_copy_rms": threshold, "samples": len(samples),
               "sample_near_copies": near_copy_share(d, threshold),
               "sample_median_rms": float(d.median())}
    reference = None
    if held_out is not None and len(held_out):
        reference = nearest(held_out[: len(samples)], train)
        summary.update(held_out=len(reference[0]),
                       held_out_near_copies=near_copy_share(reference[0], threshold),
                       held_out_median_rms=float(reference[0].median()))
    return {"samples": (d, i), "held_out": reference, "summary": summary}


def judge_frechet(judge: DigitClassifier, samples: torch.Tensor, train: torch.Tensor,
                  test: torch.Tensor) -> dict:
    """The Frechet distance in the judge's features of n samples to the whole test split, and
    its floor: the first n training images to the same test split (n: the samples, or the
    training images where fewer). Images float [N, C, H, W] in [0, 1] (samples clamped); no
    distance for fewer than 2 images (a Gaussian fit needs them)."""
    n = min(len(samples), len(train))
    if n < 2 or len(test) < 2:
        return {}
    reference, floor = real_reference(judge, train, test, n)
    distance = feature_frechet_distance(features(judge, samples[:n].clamp(0, 1)), reference)
    return {"frechet_distance": distance, "frechet_floor": floor, "frechet_samples": n,
            "frechet_reference": len(test)}


def memorisation_table(result: dict, sample_classes: torch.Tensor,
                       held_out_labels: torch.Tensor | None, train_labels: torch.Tensor,
                       class_names: list[str]) -> pd.DataFrame:
    """One row per sample and per held-out image: its nearest training image, that image's
    class, the RMS distance and whether it is a near-copy."""
    threshold = result["summary"]["near_copy_rms"]
    rows = []
    groups = [("sample", result["samples"], sample_classes)]
    if result["held_out"] is not None:
        groups.append(("held-out", result["held_out"], held_out_labels))
    for kind, (distances, indices), labels in groups:
        for k, (d, i) in enumerate(zip(distances.tolist(), indices.tolist(), strict=True)):
            rows.append({
                "image": kind, "index": k,
                "class": class_names[int(labels[k])] if labels is not None and len(labels)
                else "",
                "nearest_train": i, "nearest_class": class_names[int(train_labels[i])],
                "rms": d, "near_copy": d < threshold})
    return pd.DataFrame(rows)
