"""Part A's algorithms against known answers, on small analytic backends."""

import functools

import pytest
import torch
from part_a_fixtures import RampBackend

from diffusionlab.part_a.denoise import (
    forward,
    iterative_denoise,
    one_step_denoise,
    sample,
)
from diffusionlab.part_a.edit import box_mask, inpaint, sdedit
from diffusionlab.part_a.filters import frequency_bands, highpass, lowpass
from diffusionlab.part_a.guidance import anagram, factorized, guided
from diffusionlab.part_a.views import get_view


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def oracle(backend, x0):
    """The estimator that knows the clean image: eps = (x_t - sqrt(abar) x0) / sqrt(1 - abar)."""

    def estimate(x, t):
        abar = backend.alphas_cumprod[t].item()
        return (x - abar**0.5 * x0) / (1 - abar) ** 0.5, None

    return estimate


@pytest.fixture
def backend():
    return RampBackend()


@pytest.fixture
def image():
    return torch.rand(2, 1, 4, 4, generator=gen(0)) * 2 - 1


def test_forward_process_is_the_closed_form(backend, image):
    t = 60
    abar = backend.alphas_cumprod[t].item()
    eps = torch.randn(image.shape, generator=gen(5))
    expected = abar**0.5 * image + (1 - abar) ** 0.5 * eps
    assert torch.allclose(forward(backend, image, t, gen(5)), expected, atol=1e-6)
    big = forward(backend, torch.zeros(4000, 1, 4, 4), t, gen(6))
    assert big.std().item() == pytest.approx((1 - abar) ** 0.5, rel=0.02)


def test_one_step_denoising_with_the_true_noise_recovers_the_image(backend, image):
    x_t = forward(backend, image, 80, gen(1))
    assert torch.allclose(one_step_denoise(backend, x_t, 80, oracle(backend, image)), image,
                          atol=1e-4)


def test_iterative_denoising_with_an_oracle_ends_near_the_clean_image(backend, image):
    timesteps = backend.strided_timesteps(30)  # T = 100: stride 3, 99 .. 0
    assert timesteps[:2] == [99, 96] and timesteps[-1] == 0
    x_t = forward(backend, image, timesteps[5], gen(2))
    out, _ = iterative_denoise(backend, x_t, timesteps, oracle(backend, image), gen(3),
                               i_start=5)
    assert (x_t - image).abs().mean() > 0.5
    assert (out - image).abs().mean() < 0.05


def test_classifier_free_guidance_is_one_batched_call(backend):
    cond, uncond = backend.encode_prompts(["0.5"]), backend.null_embedding()
    x = torch.zeros(3, 1, 4, 4)
    eps, variance = guided(backend, cond, uncond, gamma=7.0)(x, 50)
    assert backend.calls == 1
    expected = (0.0 + 7.0 * (0.5 - 0.0)) * backend.ramp()
    assert torch.allclose(eps, expected.expand_as(x))
    assert torch.equal(variance, torch.zeros_like(x))
    plain, _ = guided(backend, cond)(x, 50)
    assert torch.allclose(plain, (0.5 * backend.ramp()).expand_as(x))


def test_anagram_averages_the_inverse_views(backend):
    c1, c2 = backend.encode_prompts(["1.0"]), backend.encode_prompts(["3.0"])
    uncond = backend.null_embedding()
    x = torch.zeros(2, 1, 4, 4)
    views = [get_view("identity"), get_view("flip")]
    eps, _ = anagram(backend, [c1, c2], views, uncond, gamma=2.0)(x, 40)
    assert backend.calls == 1  # both views, conditional and unconditional, in one call
    ramp = backend.ramp()
    expected = (2.0 * 1.0 * ramp + torch.flip(2.0 * 3.0 * ramp, dims=(0,))) / 2
    assert torch.allclose(eps, expected.expand_as(x))
    with pytest.raises(ValueError, match="views"):
        anagram(backend, [c1], views)


def test_hybrid_is_lowpass_of_one_prompt_plus_highpass_of_the_other():
    backend = RampBackend()
    backend.image_size = 8
    c1, c2 = backend.encode_prompts(["1.0", "-2.0"]).split(1)
    x = torch.zeros(1, 1, 8, 8)
    bands = functools.partial(frequency_bands, kernel_sizes=[5], sigmas=[1.0])
    eps, _ = factorized(backend, [c1, c2], bands)(x, 10)
    ramp = backend.ramp().expand_as(x)
    expected = lowpass(1.0 * ramp, 5, 1.0) + highpass(-2.0 * ramp, 5, 1.0)
    assert torch.allclose(eps, expected, atol=1e-6)
    assert backend.calls == 1
    with pytest.raises(ValueError, match="bands"):
        factorized(backend, [c1, c2, c1], bands)(x, 10)


def test_sampling_is_reproducible_from_the_seed(backend):
    timesteps = backend.strided_timesteps(30)
    estimator = guided(backend, backend.encode_prompts(["0.1"]))
    a, frames = sample(backend, 3, timesteps, estimator, gen(9), keep_every=10)
    b, _ = sample(backend, 3, timesteps, estimator, gen(9))
    c, _ = sample(backend, 3, timesteps, estimator, gen(10))
    assert a.shape == (3, 1, 4, 4)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert [t for t, _ in frames] == [99, 69, 39, 9, 0]


def test_iterative_denoising_rejects_bad_timesteps(backend, image):
    estimator = guided(backend, backend.null_embedding())
    with pytest.raises(ValueError, match="decreasing"):
        iterative_denoise(backend, image, [10, 20, 0], estimator, gen(0))
    with pytest.raises(ValueError, match="0..99"):
        iterative_denoise(backend, image, [100, 0], estimator, gen(0))
    with pytest.raises(ValueError, match="i_start"):
        iterative_denoise(backend, image, [10, 0], estimator, gen(0), i_start=2)


def test_inpainting_keeps_every_pixel_outside_the_mask(backend, image):
    mask = box_mask(4, (0.25, 0.25, 0.75, 1.0))
    assert mask[0, 0].tolist() == [[0, 0, 0, 0], [0, 1, 1, 1], [0, 1, 1, 1], [0, 0, 0, 0]]
    timesteps = backend.strided_timesteps(30)
    estimator = guided(backend, backend.encode_prompts(["0.3"]), backend.null_embedding(), 5.0)
    out = inpaint(backend, image, mask, timesteps, estimator, gen(4))
    outside = mask.expand_as(image) == 0
    assert torch.equal(out[outside], image[outside])
    assert not torch.allclose(out[~outside], image[~outside], atol=1e-2)
    later = inpaint(backend, image, mask, timesteps, estimator, gen(4), i_start=20)
    assert torch.equal(later[outside], image[outside])


def test_sdedit_runs_one_edit_per_i_start(backend, image):
    timesteps = backend.strided_timesteps(30)
    estimator = guided(backend, backend.encode_prompts(["0.2"]))
    last = len(timesteps) - 1
    edits = sdedit(backend, image, timesteps, [1, 10, last], estimator, gen(8))
    assert len(edits) == 3 and all(e.shape == image.shape for e in edits)
    # At the last index there is nothing left to denoise: the edit is the image at t = 0,
    # noised with the third draw of the generator after the two earlier edits' draws.
    g = gen(8)
    for i in (1, 10):
        torch.randn(image.shape, generator=g)  # forward() of the earlier edits
        for _ in range(last - i):
            torch.randn(image.shape, generator=g)  # their denoising steps
    assert torch.allclose(edits[2], forward(backend, image, 0, g), atol=1e-7)


def test_model_space_conversions_round_trip(backend):
    unit = torch.rand(1, 1, 4, 4, generator=gen(1))
    assert torch.allclose(backend.to_model(unit), unit * 2 - 1)
    assert torch.allclose(backend.to_unit(backend.to_model(unit)), unit, atol=1e-6)
    with pytest.raises(Exception, match="no upsampler"):
        backend.upsample(unit, None, None, gen(0))
