"""Gaussian filters: the classical denoiser of 1.2 and the frequency bands of hybrid images."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import torch
from torchvision.transforms.functional import gaussian_blur


def lowpass(x: torch.Tensor, kernel_size: int, sigma: float | None = None) -> torch.Tensor:
    """Gaussian blur of a batch [..., C, H, W]; sigma None takes torchvision's default for k."""
    return gaussian_blur(x, [kernel_size, kernel_size], None if sigma is None else [sigma, sigma])


def highpass(x: torch.Tensor, kernel_size: int, sigma: float | None = None) -> torch.Tensor:
    return x - lowpass(x, kernel_size, sigma)


def frequency_bands(
    x: torch.Tensor, kernel_sizes: Sequence[int], sigmas: Sequence[float]
) -> list[torch.Tensor]:
    """Split x into len(sigmas) + 1 bands, lowest frequencies first, that sum to x.

    With blurs G_1, ..., G_n from the widest sigma to the narrowest, the bands are
    G_1 x, G_2 x - G_1 x, ..., x - G_n x: one sigma gives (lowpass, highpass), two give the
    low, middle and high band of a three-way hybrid.
    """
    if len(kernel_sizes) != len(sigmas) or not sigmas:
        raise ValueError("give one kernel size per sigma, at least one")
    if list(sigmas) != sorted(sigmas, reverse=True):
        raise ValueError(f"sigmas must go from the widest blur to the narrowest, not {sigmas}")
    blurred = [lowpass(x, k, s) for k, s in zip(kernel_sizes, sigmas, strict=True)] + [x]
    return [blurred[0]] + [fine - coarse for coarse, fine in pairwise(blurred)]
