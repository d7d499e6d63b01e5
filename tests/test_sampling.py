"""Sampling with classifier-free guidance: the batched passes equal separate ones."""

import torch

from diffusionlab.sampling import predict_noise, sample
from diffusionlab.schedule import DDPMSchedule
from diffusionlab.unet import ClassConditionalUNet, TimeConditionalUNet, build, one_hot


def tiny_class_model():
    torch.manual_seed(0)
    return ClassConditionalUNet(hidden=4).eval()


def test_cfg_combines_conditional_and_unconditional_predictions():
    model = tiny_class_model()
    x = torch.randn(4, 1, 28, 28)
    classes = torch.tensor([0, 1, 2, 3])
    t = torch.full((4,), 10 / 300)
    with torch.no_grad():
        eps_c = model(x, t, one_hot(classes))
        eps_u = model(x, t, torch.zeros(4, 10))
        guided = predict_noise(model, x, 10, 300, classes, guidance=5.0)
        plain = predict_noise(model, x, 10, 300, classes, guidance=1.0)
        uncond = predict_noise(model, x, 10, 300, classes, guidance=0.0)
    torch.testing.assert_close(guided, eps_u + 5.0 * (eps_c - eps_u), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(plain, eps_c)
    torch.testing.assert_close(uncond, eps_u, atol=1e-6, rtol=1e-6)


def test_sampling_is_seeded_and_records_frames():
    model = TimeConditionalUNet(hidden=4).eval()
    schedule = DDPMSchedule.linear(20, 1e-4, 0.02)
    a, frames = sample(model, schedule, 3, generator=torch.Generator().manual_seed(1),
                       keep_every=5)
    b, _ = sample(model, schedule, 3, generator=torch.Generator().manual_seed(1))
    c, _ = sample(model, schedule, 3, generator=torch.Generator().manual_seed(2))
    assert a.shape == (3, 1, 28, 28) and len(frames) == 4  # t = 15, 10, 5, 0
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(frames[-1], a)


def test_samples_take_the_models_image_shape():
    model = build("class", hidden=4, channels=3, image_size=12, num_classes=4).eval()
    schedule = DDPMSchedule.linear(3, 1e-4, 0.02)
    x, _ = sample(model, schedule, 2, generator=torch.Generator().manual_seed(0),
                  classes=torch.tensor([0, 3]), guidance=2.0)
    assert x.shape == (2, 3, 12, 12)
