"""Timestep spacing, strided DDPM and DDIM: respacing, exactness at full length, the samplers'
agreement with each other and with diffusers."""

import subprocess
import sys

import pytest
import torch
from diffusers import DDIMScheduler, DDPMScheduler
from torch import nn

from diffusionlab.sampling import predict_noise, respace, sample, spaced_timesteps
from diffusionlab.schedule import DDPMSchedule
from diffusionlab.unet import ClassConditionalUNet, TimeConditionalUNet

T = 300
SCHEDULE = DDPMSchedule.linear(T, 1e-4, 0.02)
CLASSES = torch.tensor([3, 7, 0])


def sample_strided(model, schedule, num_samples, num_steps, **options):
    return sample(model, schedule, num_samples, num_steps=num_steps, **options)[0]


def tiny(cls):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return cls(hidden=4).eval()


@pytest.fixture(scope="module")
def class_model():
    return tiny(ClassConditionalUNet)


class OracleNoise(nn.Module):
    """The exact noise predictor when every training image is the same image x_star."""

    def __init__(self, x_star):
        super().__init__()
        self.x_star = x_star

    def forward(self, x, t_in):
        t = torch.round(t_in * T).long()
        a = SCHEDULE.alphas_cumprod[t].float().reshape(-1, 1, 1, 1)
        return (x - a.sqrt() * self.x_star) / (1 - a).sqrt()


def test_spaced_timesteps():
    assert spaced_timesteps(T, 20) == list(range(299, 0, -15))
    assert spaced_timesteps(T, 20, "leading") == list(range(285, -1, -15))
    assert spaced_timesteps(T, T) == spaced_timesteps(T, T, "leading") == list(range(299, -1, -1))
    assert spaced_timesteps(T, 1) == [299] and spaced_timesteps(T, 1, "leading") == [0]
    for bad in (0, T + 1):
        with pytest.raises(ValueError):
            spaced_timesteps(T, bad)
    assert spaced_timesteps(T, 6, "linspace") == [299, 239, 179, 120, 60, 0]
    assert spaced_timesteps(1000, 15, "linspace")[7] == 500  # 499.5: half to even
    with pytest.raises(ValueError, match="spacing"):
        spaced_timesteps(T, 10, "cosine")


@pytest.mark.parametrize("spacing", ["trailing", "leading", "linspace"])
@pytest.mark.parametrize("num_train_steps", [30, 300, 1000])
def test_spacings_are_diffusers_timesteps(spacing, num_train_steps):
    scheduler = DDPMScheduler(num_train_timesteps=num_train_steps, timestep_spacing=spacing)
    for steps in sorted({1, 2, 3, 7, 14, 15, 20, 29, 30, num_train_steps // 3, num_train_steps}):
        scheduler.set_timesteps(steps)
        # diffusers' trailing steps come from np.arange(T, 0, -T/S), which can overshoot by one
        # (T = 300, S = 7 ends at 300 - 7 (300/7) = 1e-13 > 0): a timestep -1 they then visit.
        theirs = [t for t in scheduler.timesteps.tolist() if t >= 0]
        assert spaced_timesteps(num_train_steps, steps, spacing) == theirs


def test_a_stride_gives_every_multiple_below_T():
    assert spaced_timesteps(1000, spacing="leading", stride=30) == list(range(990, -1, -30))
    assert spaced_timesteps(300, spacing="leading", stride=9)[:2] == [297, 288]
    assert spaced_timesteps(300, spacing="leading", stride=1) == spaced_timesteps(300, 300)
    assert spaced_timesteps(10, spacing="leading", stride=20) == [0]
    for bad in ({"stride": 0}, {"stride": 3, "num_steps": 10},
                {"stride": 3, "spacing": "trailing"}):
        with pytest.raises(ValueError, match="stride"):
            spaced_timesteps(300, **{"spacing": "leading", **bad})


def test_respacing_keeps_alpha_bar_of_the_kept_steps():
    for steps in (100, 50, 20):
        kept = spaced_timesteps(T, steps)
        r = respace(SCHEDULE, kept)
        expected = SCHEDULE.alphas_cumprod[torch.tensor(sorted(kept))]
        torch.testing.assert_close(r.alphas_cumprod, expected, rtol=1e-14, atol=0)
        assert r.num_steps == steps and (r.betas > SCHEDULE.betas[0]).all()
    full = respace(SCHEDULE, list(range(T)))
    assert torch.equal(full.betas, SCHEDULE.betas)
    with pytest.raises(ValueError):
        respace(SCHEDULE, [5, 5, 3])


def test_all_steps_of_strided_ddpm_is_the_full_sampler(class_model):
    kwargs = {"classes": CLASSES, "guidance": 5.0}
    full, _ = sample(class_model, SCHEDULE, 3, generator=torch.Generator().manual_seed(1), **kwargs)
    strided = sample_strided(class_model, SCHEDULE, 3, T, **kwargs,
                             generator=torch.Generator().manual_seed(1))
    assert torch.equal(full, strided)


@pytest.mark.parametrize("steps", [300, 50, 20])
@pytest.mark.parametrize("method", ["ddpm", "ddim"])
def test_oracle_model_lands_on_the_data_point(method, steps):
    x_star = torch.rand(1, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    out = sample_strided(OracleNoise(x_star), SCHEDULE, 2, steps, method=method,
                         image_shape=x_star.shape[1:], generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(out, x_star.expand(2, -1, -1, -1), atol=1e-4, rtol=0)


def diffusers_loop(scheduler, model, steps, generator, step_options=None, **predict):
    scheduler.set_timesteps(steps)
    x = torch.randn(3, 1, 28, 28, generator=generator)
    with torch.no_grad():
        for t in scheduler.timesteps:
            eps = predict_noise(model, x, int(t), T, **predict)
            x = scheduler.step(eps, t, x, generator=generator, **(step_options or {})).prev_sample
    return x, scheduler.timesteps.tolist()


def test_ddim_with_eta_1_is_ddpm_with_the_posterior_variance(class_model):
    # Song et al.: sigma = sqrt(posterior variance) at eta = 1, and the same noise draws.
    options = {"classes": CLASSES, "guidance": 3.0}
    ddim = sample_strided(class_model, SCHEDULE, 3, T, method="ddim", eta=1.0, **options,
                          generator=torch.Generator().manual_seed(6))
    ddpm = sample_strided(class_model, SCHEDULE, 3, T, variance="posterior", **options,
                          generator=torch.Generator().manual_seed(6))
    torch.testing.assert_close(ddim, ddpm, atol=1e-4, rtol=0)
    beta = sample_strided(class_model, SCHEDULE, 3, T, **options,
                          generator=torch.Generator().manual_seed(6))
    assert (ddim - beta).abs().max() > 1e-2  # the variance matters: the check can fail


def test_frames_of_a_strided_run_and_the_last_one_is_the_sample(class_model):
    x, frames = sample(class_model, SCHEDULE, 2, num_steps=20, keep_every=5, method="ddim",
                       classes=CLASSES[:2], generator=torch.Generator().manual_seed(7))
    assert len(frames) == 4 and torch.equal(frames[-1], x)  # j = 15, 10, 5, 0


@pytest.mark.parametrize("eta", [0.0, 0.5])
@pytest.mark.parametrize("spacing", ["trailing", "leading"])
def test_ddim_agrees_with_diffusers(class_model, spacing, eta):
    scheduler = DDIMScheduler(num_train_timesteps=T, beta_start=1e-4, beta_end=0.02,
                              beta_schedule="linear", clip_sample=False, set_alpha_to_one=True,
                              timestep_spacing=spacing)
    predict = {"classes": CLASSES, "guidance": 5.0}
    theirs, visited = diffusers_loop(scheduler, class_model, 20, torch.Generator().manual_seed(4),
                                     {"eta": eta}, **predict)
    ours = sample_strided(class_model, SCHEDULE, 3, 20, method="ddim", spacing=spacing, eta=eta,
                          generator=torch.Generator().manual_seed(4), **predict)
    assert visited == spaced_timesteps(T, 20, spacing)
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=0)


@pytest.mark.parametrize("variance,theirs", [("beta", "fixed_large"), ("posterior", "fixed_small")])
def test_strided_ddpm_agrees_with_diffusers(variance, theirs):
    # "leading" ends at t = 0, where diffusers (like us) adds no noise; with "trailing" it would
    # add noise at the last step, which ends at t = T/S - 1 > 0.
    model = tiny(TimeConditionalUNet)
    scheduler = DDPMScheduler(num_train_timesteps=T, beta_start=1e-4, beta_end=0.02,
                              beta_schedule="linear", clip_sample=False, variance_type=theirs,
                              timestep_spacing="leading")
    # diffusers keeps alpha_bar in float32; an untrained model's samples grow large and the
    # rounding of the schedule (1e-7) shows at 1e-5. Give it our float64 alpha_bar, so that the
    # comparison is about the update rule.
    torch.testing.assert_close(scheduler.alphas_cumprod.double(), SCHEDULE.alphas_cumprod)
    scheduler.alphas_cumprod = SCHEDULE.alphas_cumprod.clone()
    scheduler.one = torch.tensor(1.0, dtype=torch.float64)
    expected, _ = diffusers_loop(scheduler, model, 50, torch.Generator().manual_seed(5))
    ours = sample_strided(model, SCHEDULE, 3, 50, spacing="leading", variance=variance,
                          generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(ours, expected, atol=1e-5, rtol=0)


def test_rejects_unknown_method(class_model):
    with pytest.raises(ValueError, match="method"):
        sample_strided(class_model, SCHEDULE, 1, 10, method="euler",
                       generator=torch.Generator())


def test_the_spacing_loads_without_torch():
    # The workflow checks part A's timesteps when Snakemake loads, which must not import torch.
    code = ("import sys; from diffusionlab.sampling import spaced_timesteps; "
            "spaced_timesteps(10, 5); sys.exit('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
