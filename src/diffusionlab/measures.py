"""Error measures between images in [0, 1], where the peak signal is 1."""

from __future__ import annotations

import math

import torch


def mse(estimate: torch.Tensor, clean: torch.Tensor) -> float:
    """Mean squared error over every pixel, in float64."""
    return (estimate.double() - clean.double()).pow(2).mean().item()


def psnr(mean_squared_error: float) -> float:
    """Peak signal-to-noise ratio in dB, 10 log10(1 / MSE) (inf for a perfect estimate)."""
    return math.inf if mean_squared_error == 0 else 10 * math.log10(1 / mean_squared_error)
