"""The MNIST backend: part A's algorithms on a random class-conditioned part B UNet."""

import functools

import pytest
import torch
from part_a_fixtures import tiny_mnist_checkpoint
from PIL import Image

from diffusionlab.jobrunner import UserError
from diffusionlab.part_a.backend import PromptError
from diffusionlab.part_a.denoise import forward, iterative_denoise, one_step_denoise, sample
from diffusionlab.part_a.digit_prompts import digit_prompt
from diffusionlab.part_a.edit import box_mask, inpaint, sdedit
from diffusionlab.part_a.filters import frequency_bands
from diffusionlab.part_a.guidance import anagram, factorized, guided
from diffusionlab.part_a.mnist import (
    MNISTBackend,
    draw_digit,
    load_drawing,
)
from diffusionlab.part_a.views import get_view
from diffusionlab.sampling import predict_noise


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    path = tiny_mnist_checkpoint(tmp_path_factory.mktemp("mnist") / "class.pt")
    return MNISTBackend.from_checkpoint(path)


def gen(seed):
    return torch.Generator().manual_seed(seed)


def test_prompts_are_digits_and_the_null_prompt_is_the_zero_class(backend):
    """Digits are read as any class model's prompts: "7" and "a handwritten 7" alike."""
    assert backend.class_index("a handwritten 7") == backend.class_index("7") == 7
    assert backend.class_index("A handwritten 7") == 7 and backend.class_index("") is None
    assert digit_prompt(3) == "a handwritten 3"
    emb = backend.encode_prompts(["a handwritten 7", "", "0"])
    assert emb.shape == (3, 10)
    assert emb[0].argmax() == 7 and emb[0].sum() == 1
    assert torch.equal(emb[1], torch.zeros(10))
    assert emb[2].argmax() == 0
    for bad in ("a handwritten 12", "a photo of a dog", "seven"):
        with pytest.raises(PromptError, match=r"the mnist backend understands .*0, 1, 2"):
            backend.encode_prompts([bad])


def test_schedule_and_timesteps_come_from_the_checkpoint(backend):
    assert backend.num_steps == 300 and backend.variance_type == "beta"
    assert backend.alphas_cumprod[0].item() == pytest.approx(1 - 1e-4)
    assert backend.strided_timesteps(30)[:2] == [297, 288]
    assert backend.scale_timestep(750) == 225
    assert backend.noise_std(100, 99, None).item() == pytest.approx(
        backend.schedule.betas[100].item() ** 0.5, rel=1e-5)


def test_predictions_match_part_b_guidance(backend):
    x = torch.rand(4, 1, 28, 28, generator=gen(0))
    cond = backend.encode_prompts(["a handwritten 3"])
    eps, variance = guided(backend, cond, backend.null_embedding(), 5.0)(x, 150)
    assert variance is None
    reference = predict_noise(backend.model, x, 150, 300, torch.full((4,), 3), guidance=5.0)
    assert torch.allclose(eps, reference, atol=1e-5)


def test_every_algorithm_runs_on_the_mnist_model(backend):
    timesteps = backend.strided_timesteps(30)
    digit = draw_digit(7)
    x0 = backend.to_model(digit)
    seven, three = backend.encode_prompts(["a handwritten 7", "a handwritten 3"]).split(1)
    null = backend.null_embedding()
    cfg = guided(backend, seven, null, 5.0)

    x_t = forward(backend, x0, backend.scale_timestep(500), gen(1))
    assert one_step_denoise(backend, x_t, 150, guided(backend, seven)).shape == (1, 1, 28, 28)
    out, frames = iterative_denoise(backend, x_t, timesteps, cfg, gen(2), i_start=10,
                                    keep_every=5)
    assert [t for t, _ in frames] == [207, 162, 117, 72, 27, 0]
    samples, _ = sample(backend, 2, timesteps, cfg, gen(3))
    assert samples.shape == (2, 1, 28, 28) and torch.isfinite(samples).all()
    assert len(sdedit(backend, x0, timesteps, [20, 30], cfg, gen(4))) == 2
    mask = box_mask(28, (0.0, 0.5, 0.5, 1.0))
    filled = inpaint(backend, x0, mask, timesteps, cfg, gen(5), i_start=25)
    assert torch.equal(filled[mask.expand_as(x0) == 0], x0[mask.expand_as(x0) == 0])
    flip = [get_view("identity"), get_view("flip")]
    ana, _ = sample(backend, 1, timesteps[25:], anagram(backend, [seven, three], flip, null, 5.0),
                    gen(6))
    bands = functools.partial(frequency_bands, kernel_sizes=[7], sigmas=[1.5])
    hyb, _ = sample(backend, 1, timesteps[25:], factorized(backend, [seven, three], bands, null,
                                                            5.0), gen(7))
    assert ana.shape == hyb.shape == (1, 1, 28, 28)
    image = backend.text_to_image(torch.cat([seven, three]), null, 4, 5.0, gen(8))
    assert image.shape == (2, 1, 28, 28)
    assert not backend.has_upsampler


def test_hand_drawn_digits_look_like_mnist():
    one, eight = draw_digit(1), draw_digit(8)
    assert one.shape == (1, 1, 28, 28) and one.min() >= 0 and one.max() == 1.0
    assert one.mean() < eight.mean() < 0.3  # thin strokes on black
    # Nothing outside MNIST's central 20x20 box except the pen's half width.
    assert one[..., :2, :].sum() == 0 and one[..., :, :2].sum() == 0
    assert torch.equal(draw_digit(4), draw_digit(4))
    with pytest.raises(ValueError, match="0-9"):
        draw_digit(10)


def test_drawings_on_paper_are_inverted(tmp_path):
    paper = Image.new("L", (56, 56), 255)
    paper.paste(0, (20, 8, 30, 48))  # a dark vertical bar
    paper.save(tmp_path / "bar.png")
    digit = load_drawing(str(tmp_path / "bar.png"))
    assert digit.shape == (1, 1, 28, 28)
    assert digit[0, 0, 14, 12].item() == pytest.approx(1.0, abs=0.02)  # the ink is white now
    assert digit[0, 0, 0, 0].item() == pytest.approx(0.0, abs=0.02)


def test_a_corrupt_checkpoint_is_one_line_naming_the_file(tmp_path):
    path = tmp_path / "class.pt"
    path.write_bytes(b"not a checkpoint" * 8)
    with pytest.raises(UserError, match=f"{path} is corrupt or not a checkpoint") as caught:
        MNISTBackend.from_checkpoint(path)
    assert "\n" not in str(caught.value)
