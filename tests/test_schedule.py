"""The hand-written DDPM schedule and ancestral step against diffusers' DDPMScheduler."""

import pytest
import torch
from diffusers import DDPMScheduler

from diffusionlab.schedule import DDPMSchedule, add_noise, ddpm_step, predict_x0


def diffusers_scheduler(variance_type):
    return DDPMScheduler(num_train_timesteps=300, beta_start=1e-4, beta_end=0.02,
                         beta_schedule="linear", variance_type=variance_type, clip_sample=False)


def test_linear_schedule_matches_diffusers():
    ours = DDPMSchedule.linear(300, 1e-4, 0.02)
    ref = diffusers_scheduler("fixed_large")
    torch.testing.assert_close(ours.betas.float(), ref.betas, rtol=0, atol=1e-8)
    torch.testing.assert_close(ours.alphas_cumprod.float(), ref.alphas_cumprod, rtol=1e-6,
                               atol=1e-7)
    assert ours.betas[0].item() == pytest.approx(1e-4) and ours.betas[-1].item() == 0.02


def test_forward_process_matches_diffusers_and_inverts():
    schedule = DDPMSchedule.linear(300, 1e-4, 0.02)
    ref = diffusers_scheduler("fixed_large")
    g = torch.Generator().manual_seed(0)
    x0, eps = torch.rand(4, 1, 28, 28, generator=g), torch.randn(4, 1, 28, 28, generator=g)
    t = torch.tensor([0, 17, 150, 299])
    xt = add_noise(x0, t, eps, schedule)
    torch.testing.assert_close(xt, ref.add_noise(x0, eps, t), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(predict_x0(xt, t, eps, schedule), x0, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(("variance", "variance_type"), [("beta", "fixed_large"),
                                                         ("posterior", "fixed_small")])
@pytest.mark.parametrize("t", [299, 150, 1, 0])
def test_ancestral_step_matches_diffusers(variance, variance_type, t):
    schedule = DDPMSchedule.linear(300, 1e-4, 0.02)
    ref = diffusers_scheduler(variance_type)
    # diffusers keeps its schedule in float32, whose rounding of 1 - alpha_bar near t = 0 is
    # ~1e-4 relative; compare the maths in float64 by handing it our float64 schedule.
    ref.betas, ref.alphas, ref.alphas_cumprod = (
        schedule.betas, schedule.alphas, schedule.alphas_cumprod)
    g = torch.Generator().manual_seed(t)
    xt = torch.randn(3, 1, 28, 28, generator=g, dtype=torch.float64)
    eps = torch.randn(3, 1, 28, 28, generator=g, dtype=torch.float64)
    expected = ref.step(eps, t, xt, generator=torch.Generator().manual_seed(7)).prev_sample
    noise = torch.randn(xt.shape, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    ours = ddpm_step(xt, t, eps, schedule, noise, variance)
    torch.testing.assert_close(ours, expected, atol=1e-10, rtol=1e-10)


def test_invalid_schedule_is_refused():
    with pytest.raises(ValueError):
        DDPMSchedule.linear(300, 0.02, 1e-4)
