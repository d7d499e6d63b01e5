"""The three UNets of part B ("course" UNets), block for block as in the exercise.

Shapes for a C x S x S input (S divisible by 4; the exercise has C = 1, S = 28) and hidden
width D:

    ConvBlock(C->D) @S -> DownBlock(D->D) @S/2 -> DownBlock(D->2D) @S/4 -> Flatten @1
    -> Unflatten(2D) @S/4 -> cat skip@S/4 (4D) -> UpBlock(4D->D) @S/2 -> cat skip@S/2 (2D)
    -> UpBlock(2D->D) @S -> cat skip@S (2D) -> ConvBlock(2D->D) -> Conv(D->C)

The time-conditioned UNet adds FCBlock(t) to the Unflatten and first UpBlock outputs;
the class-conditioned one also scales them by FCBlock(c) first.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.fusion import fuse_conv_bn_eval


class GELU(nn.GELU):
    """nn.GELU, computed on the channels-last memory order of a channels-last input.

    torch (2.14) takes a slow elementwise loop for a channels-last 4-D tensor, but the same
    memory read as its contiguous permutation N x H x W x C takes the vectorised one: the same
    function (float rounding apart), 1.7x faster forward and 2.3x forward and backward on a
    2-core Xeon (docs/benchmarks.md section 1). No parameters: checkpoints are unchanged.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(
            memory_format=torch.channels_last
        ):
            return F.gelu(x.permute(0, 2, 3, 1), approximate=self.approximate).permute(0, 3, 1, 2)
        return F.gelu(x, approximate=self.approximate)


def conv(cin: int, cout: int) -> nn.Sequential:
    """Conv2d(k3, s1, p1) + BatchNorm + GELU: keeps the resolution."""
    return nn.Sequential(nn.Conv2d(cin, cout, 3, 1, 1), nn.BatchNorm2d(cout), GELU())


def down_conv(cin: int, cout: int) -> nn.Sequential:
    """Conv2d(k3, s2, p1) + BatchNorm + GELU: halves the resolution."""
    return nn.Sequential(nn.Conv2d(cin, cout, 3, 2, 1), nn.BatchNorm2d(cout), GELU())


def up_conv(cin: int, cout: int) -> nn.Sequential:
    """ConvTranspose2d(k4, s2, p1) + BatchNorm + GELU: doubles the resolution."""
    return nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, 2, 1), nn.BatchNorm2d(cout), GELU())


def flatten(size: int) -> nn.Sequential:
    """AvgPool2d(size) + GELU: size x size -> 1x1 (7 for 28x28 images)."""
    return nn.Sequential(nn.AvgPool2d(size), GELU())


def unflatten(channels: int, size: int) -> nn.Sequential:
    """ConvTranspose2d(k=size, s=size, p0) + BatchNorm + GELU: 1x1 -> size x size."""
    return nn.Sequential(
        nn.ConvTranspose2d(channels, channels, size, size, 0), nn.BatchNorm2d(channels), GELU()
    )


def conv_block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(conv(cin, cout), conv(cout, cout))


def down_block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(down_conv(cin, cout), conv_block(cout, cout))


def up_block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(up_conv(cin, cout), conv_block(cout, cout))


def fc_block(cin: int, cout: int) -> nn.Sequential:
    """Linear -> GELU -> Linear: embeds a scalar t or a one-hot class vector."""
    return nn.Sequential(nn.Linear(cin, cout), GELU(), nn.Linear(cout, cout))


class UnconditionalUNet(nn.Module):
    """The one-step denoiser: maps a noisy image to a clean one."""

    kind = "unconditional"

    def __init__(self, channels: int = 1, hidden: int = 128, image_size: int = 28):
        super().__init__()
        if image_size < 4 or image_size % 4:
            raise ValueError(f"image_size {image_size} must be a multiple of 4 (two halvings)")
        d = hidden
        self.hidden = d
        self.channels = channels
        self.image_size = image_size
        self.first = conv_block(channels, d)
        self.down1 = down_block(d, d)
        self.down2 = down_block(d, 2 * d)
        self.flatten = flatten(image_size // 4)
        self.unflatten = unflatten(2 * d, image_size // 4)
        self.up1 = up_block(4 * d, d)
        self.up2 = up_block(2 * d, d)
        self.last = conv_block(2 * d, d)
        self.out = nn.Conv2d(d, channels, 3, 1, 1)

    @property
    def spec(self) -> dict:
        """What rebuilds this model (diffusionlab.models.build_from_spec)."""
        return {"arch": "course", "kind": self.kind, "channels": self.channels,
                "image_size": self.image_size, "num_classes": getattr(self, "num_classes", None),
                "hidden": self.hidden}

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        s_full = self.first(x)
        s_half = self.down1(s_full)
        s_quarter = self.down2(s_half)
        return s_full, s_half, s_quarter, self.unflatten(self.flatten(s_quarter))

    def decode(self, s_full, s_half, s_quarter, bottleneck,
               scale1=1, shift1=0, scale2=1, shift2=0):
        """Upsampling path; (scale, shift) modulate the bottleneck and the first UpBlock."""
        h = scale1 * bottleneck + shift1
        h = self.up1(torch.cat([s_quarter, h], dim=1))
        h = scale2 * h + shift2
        h = self.up2(torch.cat([s_half, h], dim=1))
        h = self.last(torch.cat([s_full, h], dim=1))
        return self.out(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(*self.encode(x))


class TimeConditionalUNet(UnconditionalUNet):
    """Predicts the noise of x_t given t/T in [0, 1]."""

    kind = "time"

    def __init__(self, channels: int = 1, hidden: int = 64, image_size: int = 28):
        super().__init__(channels, hidden, image_size)
        self.t1 = fc_block(1, 2 * hidden)
        self.t2 = fc_block(1, hidden)

    def time_shift(self, t: torch.Tensor, batch: int, dtype: torch.dtype):
        t = time_column(t, batch).to(self.t1[0].weight.device, dtype)
        return self.t1(t)[..., None, None], self.t2(t)[..., None, None]

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        shift1, shift2 = self.time_shift(t, x.shape[0], x.dtype)
        return self.decode(*self.encode(x), shift1=shift1, shift2=shift2)


class ClassConditionalUNet(TimeConditionalUNet):
    """Predicts the noise of x_t given t/T and a one-hot class vector c (all zeros = no class)."""

    kind = "class"

    def __init__(self, channels: int = 1, hidden: int = 64, num_classes: int = 10,
                 image_size: int = 28):
        super().__init__(channels, hidden, image_size)
        self.num_classes = num_classes
        self.c1 = fc_block(num_classes, 2 * hidden)
        self.c2 = fc_block(num_classes, hidden)

    def forward(self, x: torch.Tensor, t: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift1, shift2 = self.time_shift(t, x.shape[0], x.dtype)
        c = c.to(x.dtype)
        scale1, scale2 = self.c1(c)[..., None, None], self.c2(c)[..., None, None]
        return self.decode(*self.encode(x), scale1, shift1, scale2, shift2)


def time_column(t: torch.Tensor | float, batch: int) -> torch.Tensor:
    """t/T as a (batch, 1) column: a scalar is shared by the batch, else one value per image."""
    t = torch.as_tensor(t, dtype=torch.float32)
    return t.reshape(-1, 1).expand(batch, -1) if t.numel() == 1 else t.reshape(batch, -1)


MODELS = {
    "unconditional": UnconditionalUNet,
    "time": TimeConditionalUNet,
    "class": ClassConditionalUNet,
}


def build(kind: str, hidden: int, channels: int = 1, image_size: int = 28,
          num_classes: int = 10) -> nn.Module:
    """The course UNet of one kind ("unconditional", "time" or "class"); the defaults are MNIST's.

    `num_classes` only matters to the class-conditioned UNet.
    """
    if kind not in MODELS:
        raise ValueError(f"unknown UNet kind {kind!r}; choose one of {sorted(MODELS)}")
    extra = {"num_classes": num_classes} if kind == "class" else {}
    return MODELS[kind](channels=channels, hidden=hidden, image_size=image_size, **extra)


def fold_batch_norms(model: nn.Module) -> nn.Module:
    """For inference, in place: every convolution followed by a batch norm becomes one
    convolution with the norm's running statistics and affine map folded into its weights
    (the norm's place holds an Identity). The same function to float rounding, without the
    normalisation's pass over each feature map: a quarter of a sampling step's time on a CPU
    (docs/benchmarks.md section 9). The model must be in eval mode; training would need the
    norms back.
    """
    if model.training:
        raise ValueError("fold_batch_norms needs a model in eval mode")
    for block in model.modules():
        if not isinstance(block, nn.Sequential):
            continue
        for i in range(len(block) - 1):
            conv, norm = block[i], block[i + 1]
            if isinstance(conv, nn.Conv2d | nn.ConvTranspose2d) and isinstance(
                norm, nn.BatchNorm2d
            ):
                block[i] = fuse_conv_bn_eval(
                    conv, norm, transpose=isinstance(conv, nn.ConvTranspose2d)
                )
                block[i + 1] = nn.Identity()
    return model


def one_hot(labels: torch.Tensor, num_classes: int = 10) -> torch.Tensor:
    return nn.functional.one_hot(labels.long(), num_classes).float()
