"""The forward process and the denoising loops of part A (sections 1.1 to 1.5).

All noise comes from an explicit CPU torch.Generator; images stay in the backend's model space.
The timesteps come from `diffusionlab.sampling` (the exercise's stride is its leading spacing,
`part_a.timesteps`), and each step is strided DDPM's: the posterior mean at x0_hat
(`schedule.predict_x0`, `schedule.posterior_mean`, as `schedule.ddpm_step`). What stays here is
part A's own: any backend's noise estimator (guidance, anagrams) and variance (DeepFloyd's
learned range), a start inside the chain (i_start) and a hook after each step (inpainting).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import pairwise

import torch

from ..schedule import add_noise, posterior_mean, predict_x0
from .backend import DenoiserBackend, gaussian
from .guidance import Estimator

Frames = list[tuple[int, torch.Tensor]]


def forward(
    backend: DenoiserBackend, x0: torch.Tensor, t: int, generator: torch.Generator
) -> torch.Tensor:
    """x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, eps ~ N(0, I)."""
    return add_noise(x0, t, gaussian(x0.shape, generator, x0.device), backend.schedule)


@torch.no_grad()
def one_step_denoise(
    backend: DenoiserBackend, x_t: torch.Tensor, t: int, estimator: Estimator
) -> torch.Tensor:
    """x0_hat = (x_t - sqrt(1 - abar_t) eps_hat) / sqrt(abar_t) from a single noise estimate."""
    eps, _ = estimator(x_t, t)
    return predict_x0(x_t, t, eps, backend.schedule)


def reverse_step(
    x_t: torch.Tensor,
    x0_hat: torch.Tensor,
    t: int,
    t_prev: int,
    alphas_cumprod: torch.Tensor,
    v_sigma: torch.Tensor,
) -> torch.Tensor:
    """One step t -> t' < t of the strided DDPM sampler:

    x_t' = sqrt(abar_t') beta_t / (1 - abar_t) x0_hat
           + sqrt(alpha_t) (1 - abar_t') / (1 - abar_t) x_t + v_sigma,

    with alpha_t = abar_t / abar_t' and beta_t = 1 - alpha_t: the posterior mean of DDPM's
    equation 7 for a step that skips from t to t'.
    """
    abar_t, abar_prev = alphas_cumprod[t].item(), alphas_cumprod[t_prev].item()
    return posterior_mean(x_t, x0_hat, abar_t, abar_prev) + v_sigma


def check_timesteps(timesteps: Sequence[int], num_steps: int) -> None:
    if not timesteps or any(b >= a for a, b in pairwise(timesteps)):
        raise ValueError("timesteps must be a non-empty, strictly decreasing list")
    if timesteps[0] >= num_steps or timesteps[-1] < 0:
        raise ValueError(f"timesteps must lie in 0..{num_steps - 1}")


@torch.no_grad()
def iterative_denoise(
    backend: DenoiserBackend,
    x: torch.Tensor,
    timesteps: Sequence[int],
    estimator: Estimator,
    generator: torch.Generator,
    *,
    i_start: int = 0,
    keep_every: int = 0,
    after_step: Callable[[torch.Tensor, int], torch.Tensor] | None = None,
) -> tuple[torch.Tensor, Frames]:
    """Denoise x, a noisy image at timesteps[i_start], down to timesteps[-1].

    Each step predicts eps (and a variance) at t, forms x0_hat and takes `reverse_step` to the
    next timestep t' with v_sigma = sigma z, sigma from the backend's variance for (t, t').
    `after_step(x, t')` may replace the new x_t' (inpainting projects it there).
    With keep_every = k > 0, also returns (t, x_t) on the CPU for every k-th step from the
    start, plus the final image.
    """
    check_timesteps(timesteps, backend.num_steps)
    if not 0 <= i_start < len(timesteps):
        raise ValueError(f"i_start {i_start} lies outside 0..{len(timesteps) - 1}")
    frames: Frames = []
    for i in range(i_start, len(timesteps) - 1):
        t, t_prev = timesteps[i], timesteps[i + 1]
        if keep_every and (i - i_start) % keep_every == 0:
            frames.append((t, x.cpu()))
        eps, variance = estimator(x, t)
        x0_hat = predict_x0(x, t, eps, backend.schedule)
        v_sigma = backend.noise_std(t, t_prev, variance) * gaussian(x.shape, generator, x.device)
        x = reverse_step(x, x0_hat, t, t_prev, backend.alphas_cumprod, v_sigma)
        if after_step is not None:
            x = after_step(x, t_prev)
    if keep_every:
        frames.append((timesteps[-1], x.cpu()))
    return x, frames


def sample(
    backend: DenoiserBackend,
    num_images: int,
    timesteps: Sequence[int],
    estimator: Estimator,
    generator: torch.Generator,
    keep_every: int = 0,
) -> tuple[torch.Tensor, Frames]:
    """Images from pure noise: iterative denoising from i_start = 0."""
    x = gaussian(backend.image_shape(num_images), generator, backend.device)
    return iterative_denoise(backend, x, timesteps, estimator, generator, keep_every=keep_every)
