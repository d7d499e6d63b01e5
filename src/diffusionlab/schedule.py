"""The DDPM noise schedule and forward process of part B.

Timesteps are 0-indexed, t in {0, ..., T-1}: alpha_bar[t] = prod_{s<=t} (1 - beta[s]).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class DDPMSchedule:
    betas: torch.Tensor  # float64, [T]

    @classmethod
    def linear(cls, num_steps: int, beta_start: float, beta_end: float) -> DDPMSchedule:
        if num_steps < 1:
            raise ValueError("num_steps must be at least 1")
        if not 0 < beta_start <= beta_end < 1:
            raise ValueError("need 0 < beta_start <= beta_end < 1")
        return cls(torch.linspace(beta_start, beta_end, num_steps, dtype=torch.float64))

    @property
    def num_steps(self) -> int:
        return self.betas.numel()

    @property
    def alphas(self) -> torch.Tensor:
        return 1.0 - self.betas

    @property
    def alphas_cumprod(self) -> torch.Tensor:
        return torch.cumprod(self.alphas, dim=0)

    def alpha_bar(self, t: torch.Tensor | int, like: torch.Tensor) -> torch.Tensor:
        """alpha_bar[t] broadcast against a batch of images `like`."""
        a = self.alphas_cumprod.to(like.device)[torch.as_tensor(t, device=like.device)]
        return a.to(like.dtype).reshape(-1, *([1] * (like.dim() - 1)))


def add_noise(
    x0: torch.Tensor, t: torch.Tensor | int, eps: torch.Tensor, schedule: DDPMSchedule
) -> torch.Tensor:
    """Forward process x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps."""
    a = schedule.alpha_bar(t, x0)
    return a.sqrt() * x0 + (1 - a).sqrt() * eps


def predict_x0(
    xt: torch.Tensor, t: torch.Tensor | int, eps: torch.Tensor, schedule: DDPMSchedule
) -> torch.Tensor:
    """Invert the forward process with a noise estimate."""
    a = schedule.alpha_bar(t, xt)
    return (xt - (1 - a).sqrt() * eps) / a.sqrt()


def posterior_mean(
    xt: torch.Tensor, x0_hat: torch.Tensor, abar_t: float, abar_prev: float
) -> torch.Tensor:
    """Mean of q(x_t' | x_t, x0) for a step from t to any t' < t (DDPM, equation 7).

    With alpha = abar_t / abar_t' and beta = 1 - alpha (the step's own alpha and beta):
    sqrt(abar_t') beta / (1 - abar_t) x0 + sqrt(alpha) (1 - abar_t') / (1 - abar_t) x_t.
    """
    alpha = abar_t / abar_prev
    beta = 1.0 - alpha
    return (abar_prev**0.5 * beta / (1 - abar_t)) * x0_hat + (
        alpha**0.5 * (1 - abar_prev) / (1 - abar_t)
    ) * xt


def ddpm_step(
    xt: torch.Tensor,
    t: int,
    eps: torch.Tensor,
    schedule: DDPMSchedule,
    noise: torch.Tensor | None,
    variance: str = "beta",
) -> torch.Tensor:
    """One ancestral step x_t -> x_{t-1} (DDPM, algorithm 2).

    The mean is written through x0_hat; it equals (x_t - beta_t/sqrt(1-abar_t) eps)/sqrt(alpha_t).
    `variance` "beta" adds sqrt(beta_t) z (the exercise), "posterior" the posterior variance
    beta_t (1-abar_{t-1})/(1-abar_t). No noise is added at t = 0.
    """
    abar = schedule.alphas_cumprod
    a_t = abar[t].item()
    a_prev = abar[t - 1].item() if t > 0 else 1.0
    mean = posterior_mean(xt, predict_x0(xt, t, eps, schedule), a_t, a_prev)
    if t == 0 or noise is None:
        return mean
    beta = schedule.betas[t].item()
    var = beta if variance == "beta" else beta * (1 - a_prev) / (1 - a_t)
    return mean + var**0.5 * noise
