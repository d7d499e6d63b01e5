"""Pixel versus latent diffusion on one data set: what each run cost and what it made.

Costs are the wall times Snakemake's benchmark files record for the jobs (start-up, loading
and figures included, as a user waits for them); quality is read by the same judges from both
runs' last samples (the latent ones decoded): the data set's classifier, the Frechet distance
in its feature space to the test images at equal sample counts, and memorisation.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import torch
from torch import nn

# Measures of the table (numbers only, so that it reads as one), in its order: key -> label.
MEASURES = {
    "ddpm_parameters": "DDPM parameters",
    "autoencoder_parameters": "autoencoder parameters",
    "images_seen": "images seen by the DDPM in training",
    "train_job_s": "DDPM training job (s)",
    "train_images_per_s": "DDPM training throughput (images/s)",
    "autoencoder_job_s": "autoencoder training job (s)",
    "encode_job_s": "latent encoding job (s)",
    "all_training_s": "all training jobs (s)",
    "sample_s_per_image": "sampling job per sample (s)",
    "reconstruction_psnr_db": "autoencoder's test PSNR (dB)",
    "class_accuracy": "judge's class accuracy of the guided samples",
    "frechet_distance": "Fréchet distance to the test images (judge's features)",
    "frechet_floor": "its floor: as many training images",
    "sample_near_copies": "share of near-copies of training images",
    "sample_median_rms": "median RMS distance to the nearest training image",
}


def job_seconds(benchmark_tsv: str | Path) -> float:
    """The wall time (s) of a job from its Snakemake benchmark file (the first repeat)."""
    with open(benchmark_tsv, newline="") as f:
        return float(next(csv.DictReader(f, delimiter="\t"))["s"])


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def frechet_distances(features, test_images: torch.Tensor, train_images: torch.Tensor,
                      samples: Mapping[str, torch.Tensor]) -> dict:
    """The Frechet distance of each sample set to the test images in a judge's feature space,
    all at the size n of the smallest set (the first n of each), and the floor: the first n
    training images. `features` maps images [N, C, H, W] in [0, 1] to features [N, F]."""
    from .evaluation.frechet import feature_frechet_distance

    n = min(len(x) for x in samples.values())
    reference = features(test_images)
    distances = {name: feature_frechet_distance(features(x[:n].clamp(0, 1)), reference)
                 for name, x in samples.items()}
    return {"samples": n, "distances": distances,
            "floor": feature_frechet_distance(features(train_images[:n]), reference)}


def speed(images: int, seconds: float) -> float:
    return images / seconds if seconds > 0 else math.inf


def versus_table(pixel: Mapping, latent: Mapping) -> pd.DataFrame:
    """One row per measure of MEASURES that either run has: measure, pixel, latent, and
    latent / pixel where both are numbers."""
    rows = []
    for key, label in MEASURES.items():
        if key not in pixel and key not in latent:
            continue
        a, b = pixel.get(key), latent.get(key)
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b))
        ratio = b / a if numbers and a else None
        rows.append({"measure": label, "key": key, "pixel": a, "latent": b,
                     "latent_over_pixel": ratio})
    return pd.DataFrame(rows, columns=["measure", "key", "pixel", "latent",
                                       "latent_over_pixel"])
