"""Ancestral DDPM sampling from the part B models, with classifier-free guidance."""

from __future__ import annotations

import torch
from torch import nn
from tqdm.auto import tqdm

from .models import is_class_conditional, sample_shape
from .schedule import DDPMSchedule, ddpm_step
from .unet import one_hot


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
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Draw samples from pure noise, t = T-1 down to 0.

    Noise comes from a CPU generator so a seed gives the same samples on every device.
    Returns the final images and, if keep_every > 0, the intermediate x_t every that many steps
    (the frames of the sampling animation, last frame included). image_shape (C, H, W) defaults
    to the model's own (`models.sample_shape(model.spec)`).
    """
    model.eval()
    T = schedule.num_steps
    shape = sample_shape(model.spec) if image_shape is None else image_shape
    x = torch.randn(num_samples, *shape, generator=generator).to(device)
    frames = []
    for t in tqdm(range(T - 1, -1, -1), desc="sample", disable=not progress, mininterval=5):
        eps = predict_noise(model, x, t, T, classes, guidance)
        z = torch.randn(x.shape, generator=generator).to(device) if t > 0 else None
        x = ddpm_step(x, t, eps, schedule, z, variance)
        if keep_every and (t % keep_every == 0):
            frames.append(x.detach().cpu())
    return x.cpu(), frames
