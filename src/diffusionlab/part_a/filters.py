"""Gaussian filters: the classical denoiser of 1.2 and the frequency bands of hybrid images."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import torch
import torch.nn.functional as F


def default_sigma(kernel_size: int) -> float:
    """The sigma torchvision's gaussian_blur (and OpenCV) takes for a kernel size."""
    return 0.3 * ((kernel_size - 1) * 0.5 - 1) + 0.8


def gaussian_kernel(kernel_size: int, sigma: float) -> torch.Tensor:
    """Normalised 1-D Gaussian weights at the integer offsets -(k-1)/2 .. (k-1)/2."""
    half = (kernel_size - 1) * 0.5
    weights = torch.exp(-0.5 * (torch.linspace(-half, half, kernel_size) / sigma) ** 2)
    return weights / weights.sum()


def lowpass(x: torch.Tensor, kernel_size: int, sigma: float | None = None) -> torch.Tensor:
    """Gaussian blur of a batch [..., C, H, W] with reflected borders, as torchvision's
    gaussian_blur computes it (sigma None: its default for the kernel size). Written out here:
    importing torchvision's transforms costs a job seconds (it pulls in torch's compiler)."""
    if kernel_size % 2 == 0 or kernel_size < 1:
        raise ValueError(f"kernel_size must be a positive odd number, not {kernel_size}")
    k = gaussian_kernel(kernel_size, default_sigma(kernel_size) if sigma is None else sigma)
    k = k.to(x.device, x.dtype)
    *batch, height, width = x.shape
    pad = kernel_size // 2
    if pad >= min(height, width):
        raise ValueError(f"a {kernel_size}-pixel blur needs images larger than {pad} pixels, "
                         f"not {height}x{width}: choose a smaller kernel size")
    flat = F.pad(x.reshape(-1, 1, height, width), [pad] * 4, mode="reflect")
    flat = F.conv2d(flat, torch.outer(k, k)[None, None])
    return flat.reshape(*batch, height, width)


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
