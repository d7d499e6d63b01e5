"""Timestep scaling, step variances and the reverse step against diffusers' DDPMScheduler."""

import math

import pytest
import torch
from part_a_fixtures import if_scheduler

from diffusionlab.part_a.backend import (
    DenoiserBackend,
    schedule_from_alphas_cumprod,
    step_log_variance,
)
from diffusionlab.part_a.denoise import iterative_denoise, reverse_step
from diffusionlab.part_a.guidance import guided
from diffusionlab.part_a.timesteps import scale_timestep, strided_timesteps
from diffusionlab.schedule import DDPMSchedule, ddpm_step, predict_x0


class SchedulerBackend(DenoiserBackend):
    """A backend on a diffusers scheduler's alphas; eps and variance are fixed functions of x."""

    name = "scheduler"
    image_size = 8
    channels = 3
    value_range = (-1.0, 1.0)
    variance_type = "learned_range"

    def __init__(self, scheduler):
        super().__init__(scheduler.alphas_cumprod, "cpu")

    def encode_prompts(self, prompts):
        return torch.zeros(len(prompts), 1)

    def predict(self, x_t, t, embeddings):
        return torch.tanh(x_t) * 0.8 + t / 2000, torch.tanh(2 * x_t + 0.3)

    def text_to_image(self, cond, uncond, num_inference_steps, guidance, generator):
        raise AssertionError("not used")


def test_strided_timesteps_follow_the_exercise_and_scale_with_T():
    ref = strided_timesteps(1000, 30)
    assert ref[:3] == [990, 960, 930] and ref[-1] == 0 and len(ref) == 34
    assert ref[10] == 690  # i_start = 10 of the exercise
    mnist = strided_timesteps(300, 30)
    assert mnist[:3] == [297, 288, 279] and mnist[-1] == 0 and len(mnist) == 34
    assert strided_timesteps(1000, 1) == list(range(999, -1, -1))
    with pytest.raises(ValueError):
        strided_timesteps(1000, 0)


def test_scale_timestep():
    assert [scale_timestep(t, 1000) for t in (250, 500, 750)] == [250, 500, 750]
    assert [scale_timestep(t, 300) for t in (250, 500, 750)] == [75, 150, 225]
    assert scale_timestep(999, 300) == 299
    with pytest.raises(ValueError):
        scale_timestep(1000, 300)


def test_schedule_from_alphas_cumprod_round_trips():
    abar = DDPMSchedule.linear(300, 1e-4, 0.02).alphas_cumprod
    schedule = schedule_from_alphas_cumprod(abar.float())
    assert schedule.alphas_cumprod.dtype == torch.float64
    assert torch.allclose(schedule.alphas_cumprod, abar.float().double(), rtol=1e-12, atol=0)


def test_fixed_variances_have_their_closed_forms():
    abar_t, abar_prev = 0.5, 0.8
    beta = 1 - 0.5 / 0.8
    assert step_log_variance("beta", abar_t, abar_prev).item() == pytest.approx(math.log(beta))
    posterior = beta * (1 - 0.8) / (1 - 0.5)
    got = step_log_variance("posterior", abar_t, abar_prev).item()
    assert got == pytest.approx(math.log(posterior))
    with pytest.raises(ValueError, match="predicted variance"):
        step_log_variance("learned_range", abar_t, abar_prev)


def diffusers_scheduler(float64_schedule: bool):
    """IF's scheduler without thresholding or clipping (the exercise's formula has neither).

    In float32, diffusers loses about three digits to cancellation in 1 - abar_t / abar_t'
    when t is small (abar is within 1e-4 of 1); with its alpha_bar in float64 it evaluates
    the same formulas as precisely as the project does (images stay float32 either way).
    """
    scheduler = if_scheduler(thresholding=False, clip_sample=False)
    if float64_schedule:
        scheduler.alphas_cumprod = scheduler.alphas_cumprod.double()
        scheduler.one = scheduler.one.double()
    return scheduler


@pytest.mark.parametrize("t", [990, 500, 31, 1])
def test_learned_range_matches_diffusers_get_variance(t):
    scheduler = diffusers_scheduler(float64_schedule=True)
    v = torch.linspace(-1, 1, 7)
    ours = step_log_variance("learned_range", scheduler.alphas_cumprod[t].item(),
                             scheduler.alphas_cumprod[t - 1].item(), v)
    assert torch.allclose(ours.float(), scheduler._get_variance(t, v).float(), atol=1e-5)
    assert not torch.allclose(ours[0], ours[-1])  # v does move the variance


def test_linear_schedule_stride_one_step_equals_part_b_ddpm_step():
    schedule = DDPMSchedule.linear(300, 1e-4, 0.02)
    x, eps, z = torch.randn(3, 2, 1, 4, 4, generator=torch.Generator().manual_seed(1))
    t = 120
    ours = reverse_step(x, predict_x0(x, t, eps, schedule), t, t - 1, schedule.alphas_cumprod,
                        schedule.betas[t].sqrt().float() * z)
    assert torch.allclose(ours, ddpm_step(x, t, eps, schedule, z, "beta"), atol=1e-6)


PAIRS = [(990, 960), (690, 660), (30, 0), (500, 499), (1, 0), (999, 700)]


@pytest.mark.parametrize("float64_schedule", [True, False])
@pytest.mark.parametrize(("t", "t_prev"), PAIRS)
def test_reverse_step_matches_diffusers_step(t, t_prev, float64_schedule):
    if t < 30 and not float64_schedule:
        pytest.skip("diffusers' float32 arithmetic is only good to ~1e-4 this close to t = 0")
    scheduler = diffusers_scheduler(float64_schedule)
    scheduler.set_timesteps(timesteps=[t, t_prev])  # previous_timestep(t) is then t_prev
    backend = SchedulerBackend(scheduler)
    g = torch.Generator().manual_seed(t)
    x = torch.randn(2, 3, 8, 8, generator=g)
    out = torch.randn(2, 6, 8, 8, generator=g)
    eps, v = out[:, :3], out[:, 3:].clamp(-1, 1)
    expected = scheduler.step(torch.cat([eps, v], 1), t, x,
                              generator=torch.Generator().manual_seed(7)).prev_sample
    z = torch.randn(x.shape, generator=torch.Generator().manual_seed(7))
    x0_hat = predict_x0(x, t, eps, backend.schedule)
    ours = reverse_step(x, x0_hat, t, t_prev, backend.alphas_cumprod,
                        backend.noise_std(t, t_prev, v) * z)
    assert torch.allclose(ours, expected, atol=1e-5)
    assert not torch.allclose(ours, x, atol=1e-3)  # the step does move the image


def test_iterative_denoising_matches_a_diffusers_loop_on_strided_timesteps():
    timesteps = strided_timesteps(1000, 30)
    i_start = 20
    scheduler = diffusers_scheduler(float64_schedule=False)
    scheduler.set_timesteps(timesteps=timesteps)
    backend = SchedulerBackend(scheduler)
    x_start = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(3))
    cond = backend.encode_prompts(["a"])
    ours, frames = iterative_denoise(backend, x_start, timesteps, guided(backend, cond),
                                     torch.Generator().manual_seed(11), i_start=i_start,
                                     keep_every=5)
    g, x = torch.Generator().manual_seed(11), x_start
    for t in timesteps[i_start:-1]:
        eps, v = backend.predict(x, t, cond)
        x = scheduler.step(torch.cat([eps, v], 1), t, x, generator=g).prev_sample
    assert torch.allclose(ours, x, atol=1e-5)
    assert [t for t, _ in frames] == [timesteps[i] for i in (20, 25, 30)] + [0]
    assert torch.equal(frames[0][1], x_start) and torch.equal(frames[-1][1], ours)
