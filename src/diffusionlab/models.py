"""Models that describe themselves: a small spec dict rebuilds any denoiser of the project.

Two architectures share one call signature — model(x), model(x_t, t/T) or model(x_t, t/T, c)
with t/T in [0, 1] and c a one-hot class vector (all zeros = no class, for classifier-free
guidance):

- "course": the three UNets of the exercise (unet.py), for any channel count and any size
  divisible by 4; they pool the S/4 x S/4 bottleneck to one vector.
- "unet2d": diffusers' UNet2DModel, deeper, with attention at low resolution, for larger
  images (64x64) where one pooled vector is too little.

A spec is plain data (str, int, list, None) so checkpoints and JSON files can hold it:

    {"arch": "course", "kind", "channels", "image_size", "num_classes", "hidden"}
    {"arch": "unet2d", "kind", "channels", "image_size", "num_classes",
     "widths", "layers_per_block", "attention_resolutions", "norm_groups"}

num_classes is None unless kind is "class".
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .config import ConfigError
from .unet import MODELS as COURSE_MODELS
from .unet import time_column

KINDS = {"course": tuple(COURSE_MODELS), "unet2d": ("time", "class")}
ARCH_KEYS = {"course": ("hidden",),
             "unet2d": ("widths", "layers_per_block", "attention_resolutions", "norm_groups")}
COMMON_KEYS = ("arch", "kind", "channels", "image_size", "num_classes")

# UNet2DModel's sinusoidal time embedding is made for integer steps 0..1000; t/T is scaled up.
TIME_SCALE = 1000.0
UNET2D_DEFAULTS = {"widths": (32, 64, 128), "layers_per_block": 2}
ATTENTION_MAX_SIZE = 16  # default: self-attention on every feature map this small or smaller


def _positive_int(key: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"model spec key {key!r}: {value!r} is not a positive integer")
    return value


def _positive_ints(key: str, values, empty_ok: bool = False) -> list[int]:
    if (isinstance(values, (str, bytes)) or not isinstance(values, Sequence)
            or not (values or empty_ok)):
        raise ConfigError(f"model spec key {key!r}: {values!r} is not a list of positive integers")
    return [_positive_int(key, v) for v in values]


def model_spec(
    kind: str,
    *,
    arch: str = "course",
    channels: int = 1,
    image_size: int = 28,
    num_classes: int | None = 10,
    hidden: int | None = None,
    widths: Sequence[int] | None = None,
    layers_per_block: int | None = None,
    attention_resolutions: Sequence[int] | None = None,
    norm_groups: int | None = None,
) -> dict:
    """The checked, complete spec of a model; raises ConfigError naming the key at fault.

    Course: hidden is the width D (default 128 for "unconditional", 64 otherwise, as in the
    exercise). unet2d: widths are the channels of each resolution level (each level but the last
    halves the size), layers_per_block the ResNet blocks per level, attention_resolutions the
    feature-map sizes that get self-attention (each must be one of the levels' sizes; default:
    those of at most 16x16; the bottleneck always has it), norm_groups the GroupNorm groups
    (default: the largest divisor of 32 shared by all widths).
    """
    if arch not in KINDS:
        raise ConfigError(f"model spec key 'arch': {arch!r} is unknown; choose one of "
                          f"{sorted(KINDS)}")
    if kind not in KINDS[arch]:
        raise ConfigError(f"model spec key 'kind': {kind!r} is unknown for arch {arch!r}; "
                          f"choose one of {list(KINDS[arch])}")
    given = {"hidden": hidden, "widths": widths, "layers_per_block": layers_per_block,
             "attention_resolutions": attention_resolutions, "norm_groups": norm_groups}
    for key, value in given.items():
        if value is not None and key not in ARCH_KEYS[arch]:
            raise ConfigError(f"model spec key {key!r} applies to arch "
                              f"{'unet2d' if arch == 'course' else 'course'} only, not {arch!r}")
    spec = {"arch": arch, "kind": kind, "channels": _positive_int("channels", channels),
            "image_size": _positive_int("image_size", image_size),
            "num_classes": _positive_int("num_classes", num_classes) if kind == "class" else None}
    if arch == "course":
        if image_size % 4:
            raise ConfigError(f"model spec key 'image_size': {image_size} is not a multiple of "
                              "4, which the course UNet halves twice")
        default = 128 if kind == "unconditional" else 64
        return spec | {"hidden": _positive_int("hidden", default if hidden is None else hidden)}
    widths = _positive_ints("widths", UNET2D_DEFAULTS["widths"] if widths is None else widths)
    levels = [image_size >> i for i in range(len(widths))]
    if image_size % 2 ** (len(widths) - 1):
        raise ConfigError(f"model spec key 'image_size': {image_size} cannot be halved "
                          f"{len(widths) - 1} times (one per level after the first of "
                          f"widths {widths}); use fewer widths or a size divisible by "
                          f"{2 ** (len(widths) - 1)}")
    if attention_resolutions is None:
        attention_resolutions = [r for r in levels if r <= ATTENTION_MAX_SIZE]
    attention = _positive_ints("attention_resolutions", attention_resolutions, empty_ok=True)
    if missing := [r for r in attention if r not in levels]:
        raise ConfigError(f"model spec key 'attention_resolutions': {missing} are not among "
                          f"the feature-map sizes {levels} of this model")
    groups = math.gcd(32, *widths) if norm_groups is None else norm_groups
    groups = _positive_int("norm_groups", groups)
    if any(w % groups for w in widths):
        raise ConfigError(f"model spec key 'norm_groups': {groups} does not divide every "
                          f"width of {widths}")
    per_level = UNET2D_DEFAULTS["layers_per_block"] if layers_per_block is None \
        else layers_per_block
    return spec | {"widths": widths,
                   "layers_per_block": _positive_int("layers_per_block", per_level),
                   "attention_resolutions": sorted(set(attention), reverse=True),
                   "norm_groups": groups}


def build_from_spec(spec: dict) -> nn.Module:
    """The (freshly initialised) model a spec describes; model.spec gives the spec back."""
    if not isinstance(spec, dict):
        raise ConfigError(f"a model spec must be a mapping, not {type(spec).__name__}")
    known = set(COMMON_KEYS).union(*ARCH_KEYS.values())
    if unknown := sorted(set(spec) - known):
        raise ConfigError(f"model spec key(s) {unknown} unknown; known: {sorted(known)}")
    if "kind" not in spec:
        raise ConfigError("model spec key 'kind' is missing")
    spec = model_spec(**spec)
    if spec["arch"] == "unet2d":
        return DiffusersUNet(spec)
    options = {"num_classes": spec["num_classes"]} if spec["kind"] == "class" else {}
    return COURSE_MODELS[spec["kind"]](channels=spec["channels"], hidden=spec["hidden"],
                                       image_size=spec["image_size"], **options)


def sample_shape(spec: dict) -> tuple[int, int, int]:
    """(C, H, W) of the images a spec's model takes and makes."""
    return spec["channels"], spec["image_size"], spec["image_size"]


def is_class_conditional(model: nn.Module) -> bool:
    """Whether the model takes a class vector c (and so supports classifier-free guidance)."""
    return getattr(model, "kind", None) == "class"


class DiffusersUNet(nn.Module):
    """diffusers' UNet2DModel behind the course UNets' call signature.

    t/T is scaled to diffusers' timestep range; c goes through a bias-free Linear into the
    time-embedding space ("identity" class embedding), so the all-zero c adds nothing: the null
    class of classifier-free guidance is exactly the model without class information.
    """

    def __init__(self, spec: dict):
        super().__init__()
        from diffusers import UNet2DModel  # heavy import, only for this architecture

        self.spec = dict(spec)
        self.kind = spec["kind"]
        self.channels, self.image_size = spec["channels"], spec["image_size"]
        widths = spec["widths"]
        attention = [spec["image_size"] >> i in spec["attention_resolutions"]
                     for i in range(len(widths))]
        self.unet = UNet2DModel(
            sample_size=spec["image_size"],
            in_channels=spec["channels"],
            out_channels=spec["channels"],
            block_out_channels=tuple(widths),
            layers_per_block=spec["layers_per_block"],
            down_block_types=tuple("AttnDownBlock2D" if a else "DownBlock2D" for a in attention),
            up_block_types=tuple("AttnUpBlock2D" if a else "UpBlock2D"
                                 for a in reversed(attention)),
            attention_head_dim=None,  # one head per attention block, as in DDPM
            norm_num_groups=spec["norm_groups"],
            class_embed_type="identity" if self.kind == "class" else None,
        )
        if self.kind == "class":
            self.num_classes = spec["num_classes"]
            self.class_embedding = nn.Linear(self.num_classes, 4 * widths[0], bias=False)

    def forward(self, x: torch.Tensor, t: torch.Tensor | float,
                c: torch.Tensor | None = None) -> torch.Tensor:
        if (c is None) == (self.kind == "class"):
            raise TypeError(f"a {self.kind!r} model takes (x, t{', c' if c is None else ''})")
        steps = time_column(t, x.shape[0]).reshape(-1).to(x.device) * TIME_SCALE
        labels = None
        if c is not None:
            labels = self.class_embedding(c.to(x.device, self.class_embedding.weight.dtype))
        return self.unet(x, steps, class_labels=labels).sample
