"""The samplers of the trained models: ancestral DDPM, strided DDPM and DDIM, with CFG.

A sampler of S steps visits timesteps tau_S > ... > tau_1 of the T training steps
(`timesteps.spaced_timesteps`); the network always sees the original timestep tau/T.

- DDPM *respaces* the schedule: the kept steps form a chain of their own with
  alpha_bar'_j = alpha_bar[tau_j] and beta'_j = 1 - alpha_bar[tau_j] / alpha_bar[tau_(j-1)]
  (alpha_bar = 1 before the first), and the ancestral step (DDPM, algorithm 2) runs on that
  chain. With all T steps the chain is the schedule bit for bit: ancestral DDPM.
- DDIM (Song et al., equation 12), from index j to j - 1 of the same chain:
      x_(j-1) = sqrt(abar_prev) x0_hat + sqrt(1 - abar_prev - sigma^2) eps_hat + sigma z,
      sigma = eta sqrt((1 - abar_prev) / (1 - abar_j)) sqrt(1 - abar_j / abar_prev),
  with abar_prev = 1 after the last step (diffusers: set_alpha_to_one=True). eta = 0 is
  deterministic after the initial noise; eta = 1 is DDPM with the posterior variance.

Noise comes from a CPU generator, in one order for every sampler (the initial noise, then one
draw per step before the last that adds noise), so a seed gives the same samples on every
device, and strided DDPM with every step is ancestral DDPM exactly.
"""

from __future__ import annotations

import torch
from torch import nn
from tqdm.auto import tqdm

from ..models import is_class_conditional, sample_shape
from ..schedule import DDPMSchedule, ddpm_step, predict_x0
from ..unet import one_hot
from .timesteps import spaced_timesteps

METHODS = ("ddpm", "ddim")
VARIANCES = ("beta", "posterior")


def predict_noise(
    model: nn.Module,
    x: torch.Tensor,
    t: int | torch.Tensor,
    num_steps: int,
    classes: torch.Tensor | None = None,
    guidance: float = 0.0,
) -> torch.Tensor:
    """The model's noise estimate at timestep t (normalised to t/T for the network).

    With classes, classifier-free guidance eps_u + gamma (eps_c - eps_u); the conditional and
    unconditional passes run as one batch.
    """
    t_in = torch.as_tensor(t, dtype=torch.float32, device=x.device) / num_steps
    if t_in.dim() == 0:
        t_in = t_in.expand(x.shape[0])
    if not is_class_conditional(model):
        return model(x, t_in)
    c = one_hot(classes.to(x.device), model.num_classes)
    if guidance == 1.0:
        return model(x, t_in, c)
    eps_c, eps_u = model(
        torch.cat([x, x]), torch.cat([t_in, t_in]), torch.cat([c, torch.zeros_like(c)])
    ).chunk(2)
    return eps_u + guidance * (eps_c - eps_u)


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


def ddim_step(
    xt: torch.Tensor,
    j: int,
    eps: torch.Tensor,
    schedule: DDPMSchedule,
    eta: float = 0.0,
    noise: torch.Tensor | None = None,
) -> torch.Tensor:
    """One DDIM step from index j of a (respaced) schedule to j - 1; `noise` z is needed when
    sigma > 0 (eta > 0 and j > 0)."""
    abar = schedule.alphas_cumprod
    a_t = abar[j].item()
    a_prev = abar[j - 1].item() if j > 0 else 1.0
    sigma = eta * ((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)) ** 0.5
    x0 = predict_x0(xt, j, eps, schedule)
    x = a_prev**0.5 * x0 + (1 - a_prev - sigma**2) ** 0.5 * eps
    return x + sigma * noise if sigma > 0 else x


@torch.no_grad()
def sample(
    model: nn.Module,
    schedule: DDPMSchedule,
    num_samples: int,
    *,
    generator: torch.Generator,
    classes: torch.Tensor | None = None,
    guidance: float = 0.0,
    image_shape: tuple[int, int, int] | None = None,
    variance: str = "beta",
    keep_every: int = 0,
    device: torch.device | str = "cpu",
    progress: bool = False,
    num_steps: int | None = None,
    method: str = "ddpm",
    spacing: str = "trailing",
    eta: float = 0.0,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Draw samples from pure noise with num_steps steps (None: all T, ancestral DDPM).

    `method` "ddpm" (`variance` "beta" adds sqrt(beta'_j) z, the exercise; "posterior" the
    posterior variance) or "ddim" (`eta`); `spacing` as in `spaced_timesteps`. `classes` and
    `guidance` go to `predict_noise` (classifier-free guidance). Returns the final images and,
    if keep_every > 0, the intermediate x every that many steps (index j of the respaced chain;
    t itself with all steps): the frames of the sampling animation, last frame included.
    image_shape (C, H, W) defaults to the model's own (`models.sample_shape(model.spec)`).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    if variance not in VARIANCES:
        raise ValueError(f"variance must be one of {VARIANCES}, not {variance!r}")
    T = schedule.num_steps
    timesteps = spaced_timesteps(T, num_steps or T, spacing)
    respaced = respace(schedule, timesteps)
    noisy = method == "ddpm" or eta > 0
    model.eval()
    shape = sample_shape(model.spec) if image_shape is None else image_shape
    x = torch.randn(num_samples, *shape, generator=generator).to(device)
    frames = []
    steps = zip(range(len(timesteps) - 1, -1, -1), timesteps, strict=True)
    for j, t in tqdm(steps, total=len(timesteps), desc="sample", disable=not progress,
                     mininterval=5):
        eps = predict_noise(model, x, t, T, classes, guidance)
        z = torch.randn(x.shape, generator=generator).to(device) if noisy and j > 0 else None
        if method == "ddim":
            x = ddim_step(x, j, eps, respaced, eta, z)
        else:
            x = ddpm_step(x, j, eps, respaced, z, variance)
        if keep_every and j % keep_every == 0:
            frames.append(x.detach().cpu())
    return x.cpu(), frames
