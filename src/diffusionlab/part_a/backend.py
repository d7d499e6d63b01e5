"""The denoiser backend: everything part A's algorithms need to know about a diffusion model.

A backend owns a noise schedule (alpha_bar as float64, T training steps), a noise predictor
that takes a whole batch at once (so classifier-free guidance and the views of an anagram cost
one forward call), prompt embeddings, the value range of its images and the variance of its
reverse steps. Images enter and leave the algorithms in the backend's own value range
("model space"); `to_model` / `to_unit` convert from and to [0, 1] at the edges.

Timesteps are 0-indexed, t in {0, ..., T-1}; the exercise's timesteps (written for T = 1000)
are scaled to the backend's T as `timesteps` explains.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence

import torch

from ..jobrunner import UserError
from ..schedule import DDPMSchedule
from .timesteps import scale_timestep, strided_timesteps

VARIANCE_TYPES = ("learned_range", "beta", "posterior")


class PromptError(UserError):
    """A prompt the backend cannot condition on; the message says which ones it can."""


def step_log_variance(
    variance_type: str,
    abar_t: float,
    abar_prev: float,
    predicted_variance: torch.Tensor | None = None,
) -> torch.Tensor:
    """log sigma^2 of the noise v_sigma added by the reverse step t -> t' (t' < t).

    With alpha_t = abar_t / abar_t' and beta_t = 1 - alpha_t (the strided step's own beta):
    "beta" is beta_t (the DDPM sampler of part B), "posterior" the posterior variance
    beta_t (1 - abar_t') / (1 - abar_t), and "learned_range" interpolates their logarithms
    with the model's output v in [-1, 1]: frac = (v + 1) / 2, log sigma^2 = frac log beta_t +
    (1 - frac) log posterior -- diffusers' DDPMScheduler._get_variance for the same (t, t').

    The exercise calls `_get_variance(t, v)` at the current t; diffusers then takes t' from the
    timesteps set on the scheduler (the strided ones during a pipeline's loop, so the jump's
    variance, as here and in `DDPMScheduler.step`), or t - 1 when none are set.
    """
    beta = 1.0 - abar_t / abar_prev
    # diffusers clamps the posterior variance before its log; it is 0 when t' = 0 at stride 1.
    posterior = max(beta * (1.0 - abar_prev) / (1.0 - abar_t), 1e-20)
    if variance_type == "beta":
        return torch.tensor(math.log(beta))
    if variance_type == "posterior":
        return torch.tensor(math.log(posterior))
    if variance_type == "learned_range":
        if predicted_variance is None:
            raise ValueError("a learned_range variance needs the model's predicted variance")
        frac = (predicted_variance + 1) / 2
        return frac * math.log(beta) + (1 - frac) * math.log(posterior)
    raise ValueError(f"unknown variance type {variance_type!r}; choose one of {VARIANCE_TYPES}")


def schedule_from_alphas_cumprod(alphas_cumprod: torch.Tensor) -> DDPMSchedule:
    """The part B schedule object for any alpha_bar: beta_t = 1 - abar_t / abar_{t-1}."""
    abar = torch.as_tensor(alphas_cumprod, dtype=torch.float64).cpu()
    previous = torch.cat([abar.new_ones(1), abar[:-1]])
    return DDPMSchedule(betas=1.0 - abar / previous)


def gaussian(shape: Sequence[int], generator: torch.Generator, device) -> torch.Tensor:
    """Standard normal noise drawn on the CPU, so a seed gives the same numbers everywhere."""
    return torch.randn(tuple(shape), generator=generator).to(device)


class DenoiserBackend(ABC):
    """A pretrained noise predictor as seen by part A's algorithms.

    Subclasses set `name`, `image_size`, `channels`, `value_range` (the model-space range of
    pixel values) and `variance_type` (one of VARIANCE_TYPES), and call
    `super().__init__(alphas_cumprod, device)`.
    """

    name: str
    image_size: int
    channels: int
    value_range: tuple[float, float]
    variance_type: str
    null_prompt: str = ""
    has_upsampler: bool = False

    def __init__(self, alphas_cumprod: torch.Tensor, device: torch.device | str):
        self.schedule = schedule_from_alphas_cumprod(alphas_cumprod)
        self.alphas_cumprod = self.schedule.alphas_cumprod  # float64 [T]
        self.device = torch.device(device)

    @property
    def num_steps(self) -> int:
        """T, the number of training timesteps."""
        return self.schedule.num_steps

    def image_shape(self, n: int) -> tuple[int, int, int, int]:
        return (n, self.channels, self.image_size, self.image_size)

    def scale_timestep(self, t: int) -> int:
        return scale_timestep(t, self.num_steps)

    def strided_timesteps(self, stride: int = 30) -> list[int]:
        """The exercise's strided timesteps (stride on the T = 1000 scale) for this model."""
        return strided_timesteps(self.num_steps, stride)

    def to_model(self, images: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] -> model space, on the backend's device."""
        lo, hi = self.value_range
        return (lo + (hi - lo) * images.float()).to(self.device)

    def to_unit(self, x: torch.Tensor) -> torch.Tensor:
        """Model space -> images in [0, 1] (clipped), on the CPU."""
        lo, hi = self.value_range
        return ((x.detach().float().cpu() - lo) / (hi - lo)).clamp(0, 1)

    def noise_std(
        self, t: int, t_prev: int, predicted_variance: torch.Tensor | None
    ) -> torch.Tensor:
        """sigma of v_sigma = sigma z for the reverse step t -> t_prev."""
        abar = self.alphas_cumprod
        log_var = step_log_variance(
            self.variance_type, abar[t].item(), abar[t_prev].item(), predicted_variance
        )
        return torch.exp(0.5 * log_var).to(self.device)

    def null_embedding(self) -> torch.Tensor:
        return self.encode_prompts([self.null_prompt])

    @abstractmethod
    def encode_prompts(self, prompts: Sequence[str]) -> torch.Tensor:
        """Conditioning for each prompt, stacked along the batch dimension."""

    @abstractmethod
    def predict(
        self, x_t: torch.Tensor, t: int, embeddings: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(eps_hat, predicted variance or None) for a batch at timestep t, float32."""

    @abstractmethod
    def text_to_image(
        self,
        cond: torch.Tensor,
        uncond: torch.Tensor,
        num_inference_steps: int,
        guidance: float,
        generator: torch.Generator,
    ) -> torch.Tensor:
        """One sample per row of `cond` with the model's own sampler, in model space."""

    def upsample(
        self,
        images: torch.Tensor,
        cond: torch.Tensor,
        uncond: torch.Tensor,
        generator: torch.Generator,
    ) -> torch.Tensor:
        """Stage II: a larger version of `images` (model space) under the same prompts."""
        raise UserError(f"the {self.name} backend has no upsampler")
