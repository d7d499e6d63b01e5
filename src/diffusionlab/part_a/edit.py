"""Image editing with a denoiser (section 1.7): SDEdit, text-guided SDEdit and inpainting.

Text-guided SDEdit (1.7.3) is `sdedit` with an estimator conditioned on another prompt.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .backend import DenoiserBackend, gaussian
from .denoise import forward, iterative_denoise
from .guidance import Estimator


def sdedit(
    backend: DenoiserBackend,
    image: torch.Tensor,
    timesteps: Sequence[int],
    i_starts: Sequence[int],
    estimator: Estimator,
    generator: torch.Generator,
) -> list[torch.Tensor]:
    """For each i_start: noise the image to timesteps[i_start], then denoise it from there.

    Small i_start means much noise (a new image loosely following the original's layout),
    large i_start little (an image close to the original).
    """
    edits = []
    for i_start in i_starts:
        x_t = forward(backend, image, timesteps[i_start], generator)
        edits.append(
            iterative_denoise(backend, x_t, timesteps, estimator, generator, i_start=i_start)[0]
        )
    return edits


def box_mask(size: int, box: Sequence[float]) -> torch.Tensor:
    """[1, 1, size, size] mask, 1 inside box = (top, left, bottom, right) in fractions of size."""
    top, left, bottom, right = (round(f * size) for f in box)
    if not 0 <= top < bottom <= size or not 0 <= left < right <= size:
        raise ValueError(f"box {list(box)} is empty or leaves the image")
    mask = torch.zeros(1, 1, size, size)
    mask[..., top:bottom, left:right] = 1.0
    return mask


def inpaint(
    backend: DenoiserBackend,
    image: torch.Tensor,
    mask: torch.Tensor,
    timesteps: Sequence[int],
    estimator: Estimator,
    generator: torch.Generator,
    i_start: int = 0,
) -> torch.Tensor:
    """New content where mask = 1; the original everywhere else.

    After every step x_t <- m x_t + (1 - m) forward(x_orig, t). The last timestep of the loop
    stands for the clean image, so the final projection pastes x_orig itself: outside the mask
    the result equals the original exactly.
    """
    new = (mask > 0.5).to(image.device)

    def project(x: torch.Tensor, t: int) -> torch.Tensor:
        known = image if t == timesteps[-1] else forward(backend, image, t, generator)
        return torch.where(new, x, known)

    x = project(gaussian(image.shape, generator, image.device), timesteps[i_start])
    return iterative_denoise(
        backend, x, timesteps, estimator, generator, i_start=i_start, after_step=project
    )[0]
