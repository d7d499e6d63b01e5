"""Model specs: every architecture and kind rebuilds from its spec alone, one call signature."""

import io
import json

import pytest
import torch
from torch import nn

from diffusionlab.config import ConfigError
from diffusionlab.models import (
    DiffusersUNet,
    build_from_spec,
    is_class_conditional,
    model_spec,
    sample_shape,
)
from diffusionlab.unet import ClassConditionalUNet, build

TINY = {"course": {"hidden": 4},
        "unet2d": {"widths": [8, 16], "layers_per_block": 1, "attention_resolutions": [16]}}
SPECS = [("course", "unconditional"), ("course", "time"), ("course", "class"),
         ("unet2d", "time"), ("unet2d", "class")]


def tiny_spec(arch, kind, channels=3, image_size=32, num_classes=4, **extra):
    options = TINY[arch] | extra
    if arch == "unet2d" and image_size != 32 and "attention_resolutions" not in extra:
        options["attention_resolutions"] = [image_size // 2]
    return model_spec(kind, arch=arch, channels=channels, image_size=image_size,
                      num_classes=num_classes, **options)


def inputs(spec, batch=2, seed=0):
    """x, and t/T and c as the spec's kind takes them (c: one class per image)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn((batch, *sample_shape(spec)), generator=g)
    if spec["kind"] == "unconditional":
        return (x,)
    t = torch.rand(batch, generator=g)
    if spec["kind"] == "time":
        return x, t
    classes = torch.arange(batch) % spec["num_classes"]
    return x, t, nn.functional.one_hot(classes, spec["num_classes"]).float()


@pytest.mark.parametrize("arch, kind", SPECS)
@pytest.mark.parametrize("channels, size", [(3, 32), (3, 64)])
def test_every_kind_gives_the_image_shape_and_trains(arch, kind, channels, size):
    spec = tiny_spec(arch, kind, channels=channels, image_size=size)
    model = build_from_spec(spec)
    out = model(*inputs(spec))
    assert out.shape == (2, channels, size, size)
    out.square().mean().backward()
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("arch, kind", SPECS)
def test_a_spec_rebuilds_its_model(arch, kind):
    spec = tiny_spec(arch, kind)
    torch.manual_seed(0)
    trained = build_from_spec(spec)
    for p in trained.parameters():  # weights a fresh model would not have
        p.data.add_(0.1 * torch.randn_like(p))
    assert trained.spec == spec
    # The spec survives what checkpoints and JSON records do to it.
    buffer = io.BytesIO()
    torch.save({"spec": trained.spec}, buffer)
    buffer.seek(0)
    stored = torch.load(buffer, weights_only=True)["spec"]
    assert json.loads(json.dumps(stored)) == spec
    torch.manual_seed(1)
    rebuilt = build_from_spec(stored)
    state = trained.state_dict()
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {
        k: v.shape for k, v in state.items()}
    args = inputs(spec)
    assert not torch.allclose(rebuilt.eval()(*args), trained.eval()(*args))
    rebuilt.load_state_dict(state)
    assert torch.equal(rebuilt(*args), trained(*args))
    assert is_class_conditional(rebuilt) == (kind == "class")


def test_course_specs_at_28x28x1_are_the_exercise_models():
    assert build("class", 64).spec == model_spec("class")
    assert build("unconditional", 128).spec == model_spec("unconditional")
    assert model_spec("time") == {"arch": "course", "kind": "time", "channels": 1,
                                  "image_size": 28, "num_classes": None, "hidden": 64}
    assert sample_shape(model_spec("class", channels=3, image_size=64)) == (3, 64, 64)


@pytest.mark.parametrize("arch", ["course", "unet2d"])
def test_zero_class_vector_is_no_class(arch):
    """c = 0 (classifier-free guidance's unconditional pass) carries no class: its output
    does not move when the class embedding's weights do, while a real class's output does."""
    spec = tiny_spec(arch, "class", num_classes=3)
    torch.manual_seed(0)
    model = build_from_spec(spec).eval()
    x, t, c = inputs(spec, batch=3)
    c[1] = 0  # a mixed batch, as in a guided sampling step
    before = model(x, t, c)
    with torch.no_grad():
        for layer in ([model.class_embedding] if arch == "unet2d" else [model.c1[0], model.c2[0]]):
            layer.weight.add_(torch.randn_like(layer.weight))
    after = model(x, t, c)
    assert torch.equal(before[1], after[1])
    assert (before[0] - after[0]).abs().max() > 1e-6
    assert (before[2] - after[2]).abs().max() > 1e-6
    if arch == "unet2d":  # no learned null embedding either: c = 0 is the class-free network
        with torch.no_grad():
            for p in model.class_embedding.parameters():
                p.zero_()
        assert torch.equal(model(x, t, c)[1], before[1])


def test_unet2d_sees_time_as_diffusers_steps():
    spec = tiny_spec("unet2d", "time")
    model = build_from_spec(spec).eval()
    seen = []
    model.unet.time_proj.register_forward_hook(lambda m, args, out: seen.append(args[0]))
    x = torch.randn(2, *sample_shape(spec))
    out = model(x, torch.tensor([0.0, 1.0]))
    assert torch.allclose(seen[0], torch.tensor([0.0, 1000.0]))
    assert torch.allclose(model(x, torch.tensor(0.25)), model(x, torch.tensor([0.25, 0.25])))
    assert not torch.allclose(out, model(x, torch.tensor([0.5, 0.5])), atol=1e-4)


def test_unet2d_puts_attention_where_asked():
    spec = tiny_spec("unet2d", "class", widths=[8, 16, 16], attention_resolutions=[16, 8])
    model = build_from_spec(spec)
    assert isinstance(model, DiffusersUNet)
    has_attention = [bool(getattr(block, "attentions", None)) for block in model.unet.down_blocks]
    assert has_attention == [False, True, True]  # at 32, 16, 8
    up = [bool(getattr(block, "attentions", None)) for block in model.unet.up_blocks]
    assert up == [True, True, False]


def test_unet2d_defaults_are_small_and_recorded():
    spec = model_spec("class", arch="unet2d", channels=3, image_size=64, num_classes=10)
    assert spec == {"arch": "unet2d", "kind": "class", "channels": 3, "image_size": 64,
                    "num_classes": 10, "widths": [32, 64, 128], "layers_per_block": 2,
                    "attention_resolutions": [16], "norm_groups": 32}
    assert sum(p.numel() for p in build_from_spec(spec).parameters()) < 5_000_000
    # Attention by default on the feature maps of at most 16x16, whatever the image size.
    assert model_spec("time", arch="unet2d", image_size=32)["attention_resolutions"] == [16, 8]
    assert model_spec("time", arch="unet2d")["attention_resolutions"] == [14, 7]
    assert model_spec("time", arch="unet2d", image_size=128,
                      widths=[8, 8])["attention_resolutions"] == []


def test_unet2d_call_signature_is_checked():
    model = build_from_spec(tiny_spec("unet2d", "class"))
    with pytest.raises(TypeError, match=r"takes \(x, t, c\)"):
        model(torch.zeros(1, 3, 32, 32), torch.zeros(1))


def test_isinstance_checks_still_hold_for_course_models():
    assert isinstance(build_from_spec(model_spec("class", hidden=4)), ClassConditionalUNet)


@pytest.mark.parametrize("spec, key", [
    ({"kind": "class", "arch": "vit"}, "'arch'"),
    ({"kind": "unconditional", "arch": "unet2d"}, "'kind'"),
    ({"kind": "time", "image_size": 30}, "'image_size'"),
    ({"kind": "time", "channels": 0}, "'channels'"),
    ({"kind": "class", "num_classes": None}, "'num_classes'"),
    ({"kind": "time", "hidden": 2.5}, "'hidden'"),
    ({"kind": "time", "widths": [8, 16]}, "'widths'"),
    ({"kind": "time", "arch": "unet2d", "hidden": 8}, "'hidden'"),
    ({"kind": "time", "arch": "unet2d", "image_size": 36, "widths": [8, 8, 8, 8]}, "'image_size'"),
    ({"kind": "time", "arch": "unet2d", "widths": [8, 16], "attention_resolutions": [7]},
     "'attention_resolutions'"),
    ({"kind": "time", "arch": "unet2d", "widths": [8, 12], "norm_groups": 8}, "'norm_groups'"),
    ({"kind": "time", "arch": "unet2d", "widths": "64"}, "'widths'"),
    ({"kind": "time", "depth": 3}, "depth"),
    ({"arch": "course"}, "'kind'"),
])
def test_bad_specs_are_refused_naming_the_key(spec, key):
    with pytest.raises(ConfigError, match=key):
        build_from_spec(spec)


def test_unet2d_follows_widths_and_layers_per_block():
    spec = tiny_spec("unet2d", "time", widths=[8, 16, 24], layers_per_block=3, norm_groups=4)
    unet = build_from_spec(spec).unet
    assert [len(block.resnets) for block in unet.down_blocks] == [3, 3, 3]
    assert [block.resnets[-1].conv2.out_channels for block in unet.down_blocks] == [8, 16, 24]
    assert unet.down_blocks[0].resnets[0].norm1.num_groups == 4
