"""Sampling the part B models with fewer steps than they were trained with.

A sampler of S steps visits a strided subsequence tau_S > ... > tau_1 of the T training
timesteps; the network always sees the original timestep tau/T.

- Strided DDPM *respaces* the schedule: the kept steps form a chain of their own with
  alpha_bar'_j = alpha_bar[tau_j] and beta'_j = 1 - alpha_bar[tau_j] / alpha_bar[tau_(j-1)]
  (alpha_bar = 1 before the first), and the usual ancestral step runs on that chain.
- DDIM with eta = 0 is deterministic after the initial noise:
      x_(tau_(j-1)) = sqrt(abar_prev) x0_hat + sqrt(1 - abar_prev) eps_hat,
  with abar_prev = 1 after the last step (diffusers: set_alpha_to_one=True).

Spacings follow diffusers' `timestep_spacing`: "trailing" (T-1, T-1-T/S, ..., the default
here: the first step is the noisiest one, the one that matches pure noise best) and
"leading" (0, T//S, ..., (S-1)(T//S)). With every step kept both give T-1, ..., 0 and strided
DDPM is `diffusionlab.sampling.sample` exactly.
"""

from __future__ import annotations

import torch
from torch import nn

from ..models import sample_shape
from ..sampling import predict_noise
from ..schedule import DDPMSchedule, ddpm_step, predict_x0

SPACINGS = ("trailing", "leading")
METHODS = ("ddpm", "ddim")


def strided_timesteps(num_train_steps: int, num_steps: int, spacing: str = "trailing") -> list[int]:
    """The timesteps an S-step sampler visits, in sampling (descending) order."""
    if not 1 <= num_steps <= num_train_steps:
        raise ValueError(f"num_steps must lie in 1..{num_train_steps}, not {num_steps}")
    if spacing == "trailing":
        ratio = num_train_steps / num_steps
        return [round(num_train_steps - i * ratio) - 1 for i in range(num_steps)]
    if spacing == "leading":
        ratio = num_train_steps // num_steps
        return [i * ratio for i in range(num_steps - 1, -1, -1)]
    raise ValueError(f"spacing must be one of {SPACINGS}, not {spacing!r}")


def respace(schedule: DDPMSchedule, timesteps: list[int]) -> DDPMSchedule:
    """The schedule of the kept timesteps: index j of the result is the j-th smallest of them.

    A kept step whose predecessor is kept too keeps its own beta, which the ratio of alpha_bars
    equals up to rounding; so keeping every step gives back the schedule bit for bit.
    """
    tau = torch.tensor(sorted(set(timesteps)), dtype=torch.long)
    if len(tau) != len(timesteps) or tau[0] < 0 or tau[-1] >= schedule.num_steps:
        raise ValueError(f"timesteps must be distinct and lie in 0..{schedule.num_steps - 1}")
    abar = schedule.alphas_cumprod[tau]
    abar_prev = torch.cat([abar.new_ones(1), abar[:-1]])
    gap = tau - torch.cat([tau.new_full((1,), -1), tau[:-1]])
    betas = torch.where(gap == 1, schedule.betas[tau], 1 - abar / abar_prev)
    return DDPMSchedule(betas)


def ddim_step(xt: torch.Tensor, j: int, eps: torch.Tensor, schedule: DDPMSchedule) -> torch.Tensor:
    """One deterministic DDIM step (eta = 0) from index j of a (respaced) schedule to j - 1."""
    a_prev = schedule.alphas_cumprod[j - 1].item() if j > 0 else 1.0
    x0 = predict_x0(xt, j, eps, schedule)
    return a_prev**0.5 * x0 + (1 - a_prev) ** 0.5 * eps


@torch.no_grad()
def sample_strided(
    model: nn.Module,
    schedule: DDPMSchedule,
    num_samples: int,
    num_steps: int,
    *,
    generator: torch.Generator,
    method: str = "ddpm",
    spacing: str = "trailing",
    classes: torch.Tensor | None = None,
    guidance: float = 0.0,
    variance: str = "beta",
    image_shape: tuple[int, int, int] | None = None,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Draw samples with an S-step strided DDPM or DDIM (eta = 0) sampler.

    Noise comes from the CPU generator in the order of `diffusionlab.sampling.sample` (initial
    noise, then one draw per DDPM step before the last), so every device gives the same samples.
    `classes` and `guidance` are passed to `predict_noise` (classifier-free guidance).
    image_shape (C, H, W) defaults to the model's own.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    timesteps = strided_timesteps(schedule.num_steps, num_steps, spacing)
    respaced = respace(schedule, timesteps)
    model.eval()
    shape = sample_shape(model.spec) if image_shape is None else image_shape
    x = torch.randn(num_samples, *shape, generator=generator).to(device)
    for j, t in zip(range(num_steps - 1, -1, -1), timesteps, strict=True):
        eps = predict_noise(model, x, t, schedule.num_steps, classes, guidance)
        if method == "ddim":
            x = ddim_step(x, j, eps, respaced)
        else:
            z = torch.randn(x.shape, generator=generator).to(device) if j > 0 else None
            x = ddpm_step(x, j, eps, respaced, z, variance)
    return x.cpu()
