"""The three UNets against the block structure and sizes of the specification."""

import pytest
import torch
from torch import nn

from diffusionlab.unet import (
    GELU,
    ClassConditionalUNet,
    TimeConditionalUNet,
    UnconditionalUNet,
    build,
)


def conv_params(cin, cout, k):
    return k * k * cin * cout + cout


def bn(c):
    return 2 * c


def conv_block(cin, cout):
    return conv_params(cin, cout, 3) + bn(cout) + conv_params(cout, cout, 3) + bn(cout)


def fc_block(cin, cout):
    return cin * cout + cout + cout * cout + cout


def expected_unconditional(d):
    return (
        conv_block(1, d)
        + conv_params(d, d, 3) + bn(d) + conv_block(d, d)  # DownBlock(D->D)
        + conv_params(d, 2 * d, 3) + bn(2 * d) + conv_block(2 * d, 2 * d)  # DownBlock(D->2D)
        + conv_params(2 * d, 2 * d, 7) + bn(2 * d)  # Unflatten
        + conv_params(4 * d, d, 4) + bn(d) + conv_block(d, d)  # UpBlock(4D->D)
        + conv_params(2 * d, d, 4) + bn(d) + conv_block(d, d)  # UpBlock(2D->D)
        + conv_block(2 * d, d)
        + conv_params(d, 1, 3)
    )


def n_params(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("d", [4, 64, 128])
def test_parameter_counts_match_the_specification(d):
    assert n_params(UnconditionalUNet(hidden=d)) == expected_unconditional(d)
    time_extra = fc_block(1, 2 * d) + fc_block(1, d)
    assert n_params(TimeConditionalUNet(hidden=d)) == expected_unconditional(d) + time_extra
    class_extra = time_extra + fc_block(10, 2 * d) + fc_block(10, d)
    assert n_params(ClassConditionalUNet(hidden=d)) == expected_unconditional(d) + class_extra


def test_reference_sizes():
    # D = 128 denoiser and D = 64 DDPMs of the reference settings.
    assert n_params(build("unconditional", 128)) == 7_891_073
    assert n_params(build("class", 64)) == 2_019_201


def test_block_shapes_and_layers():
    d = 8
    model = UnconditionalUNet(hidden=d).eval()
    shapes = {}
    for name in ["first", "down1", "down2", "flatten", "unflatten", "up1", "up2", "last", "out"]:
        getattr(model, name).register_forward_hook(
            lambda m, i, o, name=name: shapes.__setitem__(name, tuple(o.shape))
        )
    model(torch.zeros(2, 1, 28, 28))
    assert shapes == {
        "first": (2, d, 28, 28), "down1": (2, d, 14, 14), "down2": (2, 2 * d, 7, 7),
        "flatten": (2, 2 * d, 1, 1), "unflatten": (2, 2 * d, 7, 7), "up1": (2, d, 14, 14),
        "up2": (2, d, 28, 28), "last": (2, d, 28, 28), "out": (2, 1, 28, 28),
    }
    down = model.down1[0][0]
    assert isinstance(down, nn.Conv2d) and (down.kernel_size, down.stride, down.padding) == (
        (3, 3), (2, 2), (1, 1))
    up = model.up1[0][0]
    assert isinstance(up, nn.ConvTranspose2d) and (up.kernel_size, up.stride, up.padding) == (
        (4, 4), (2, 2), (1, 1))
    unflat = model.unflatten[0]
    assert (unflat.kernel_size, unflat.stride, unflat.padding) == ((7, 7), (7, 7), (0, 0))
    assert isinstance(model.flatten[0], nn.AvgPool2d) and model.flatten[0].kernel_size == 7
    for block in (model.first, model.last):  # ConvBlock = 2 x (Conv k3 s1 p1, BN, GELU)
        assert [type(m) for m in block.modules() if not isinstance(m, nn.Sequential)] == [
            nn.Conv2d, nn.BatchNorm2d, GELU] * 2


def test_conditioning_changes_the_output():
    torch.manual_seed(0)
    model = ClassConditionalUNet(hidden=4).eval()
    x = torch.rand(2, 1, 28, 28)
    t = torch.tensor([0.1, 0.1])
    c = torch.nn.functional.one_hot(torch.tensor([3, 3]), 10).float()
    base = model(x, t, c)
    assert not torch.allclose(base, model(x, torch.tensor([0.9, 0.9]), c))
    assert not torch.allclose(base, model(x, t, torch.zeros_like(c)))
    assert torch.equal(base[0], base[1]) is False or torch.equal(x[0], x[1])


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown UNet kind"):
        build("transformer", 8)


KINDS = ["unconditional", "time", "class"]


def call(model, kind, x, num_classes=10):
    """The model's forward pass with the inputs its kind takes."""
    t = torch.rand(x.shape[0])
    c = torch.nn.functional.one_hot(torch.arange(x.shape[0]) % num_classes, num_classes).float()
    if kind == "unconditional":
        return model(x)
    return model(x, t) if kind == "time" else model(x, t, c)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("channels, size", [(3, 32), (3, 64), (2, 12)])
def test_any_channel_count_and_size_divisible_by_4(kind, channels, size):
    d = 4
    model = build(kind, d, channels=channels, image_size=size, num_classes=3)
    out = call(model, kind, torch.randn(2, channels, size, size), num_classes=3)
    assert out.shape == (2, channels, size, size)
    out.square().mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    # The bottleneck vector pools the whole S/4 x S/4 map, which the Unflatten restores.
    assert model.flatten[0].kernel_size == size // 4
    assert model.unflatten[0].kernel_size == (size // 4, size // 4)
    assert model.unflatten[0].stride == (size // 4, size // 4)


def test_class_count_is_a_parameter():
    model = build("class", 4, num_classes=3)
    assert model.num_classes == 3
    assert model.c1[0].in_features == model.c2[0].in_features == 3
    assert n_params(model) == n_params(build("class", 4)) - 7 * (2 * 4 + 4)


@pytest.mark.parametrize("size", [30, 2, 0])
def test_sizes_the_course_unet_cannot_halve_twice_are_refused(size):
    with pytest.raises(ValueError, match="multiple of 4"):
        build("time", 4, image_size=size)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_gelu_takes_the_vectorised_path_on_channels_last_inputs(dtype, monkeypatch):
    """The layout trick of unet.GELU: exact GELU (to float rounding) and its gradient, the
    output still channels-last, and torch's gelu handed a contiguous tensor (its fast loop)."""
    from diffusionlab import unet

    x = torch.randn(4, 6, 5, 7, dtype=dtype).contiguous(memory_format=torch.channels_last)
    x.requires_grad_()
    reference = x.detach().clone().requires_grad_()
    expected = nn.GELU()(reference)
    seen = []
    gelu = torch.nn.functional.gelu
    monkeypatch.setattr(unet.F, "gelu", lambda t, **kw: seen.append(t.is_contiguous()) or
                        gelu(t, **kw))
    y = GELU()(x)
    monkeypatch.undo()
    assert seen == [True]
    assert y.is_contiguous(memory_format=torch.channels_last)
    tol = 1e-6 if dtype == torch.float32 else 1e-2
    torch.testing.assert_close(y, expected, atol=tol, rtol=tol)
    y.square().sum().backward()
    expected.square().sum().backward()
    torch.testing.assert_close(x.grad, reference.grad, atol=tol, rtol=tol)
    # a plain (N C H W) tensor goes through unchanged
    plain = torch.randn(3, 2, 4, 4)
    torch.testing.assert_close(GELU()(plain), nn.GELU()(plain), atol=0, rtol=0)


def test_every_activation_of_the_course_unets_is_the_layout_aware_gelu():
    for kind in ("unconditional", "time", "class"):
        acts = [m for m in build(kind, hidden=8).modules() if isinstance(m, nn.GELU)]
        assert acts and all(type(m) is GELU for m in acts), kind
