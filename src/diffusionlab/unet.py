"""The three MNIST UNets of part B, block for block as in the exercise.

Shapes for a 28x28 input with hidden width D:

    ConvBlock(1->D) @28 -> DownBlock(D->D) @14 -> DownBlock(D->2D) @7 -> Flatten @1
    -> Unflatten(2D) @7 -> cat skip@7 (4D) -> UpBlock(4D->D) @14 -> cat skip@14 (2D)
    -> UpBlock(2D->D) @28 -> cat skip@28 (2D) -> ConvBlock(2D->D) -> Conv(D->1)

The time-conditioned UNet adds FCBlock(t) to the Unflatten and first UpBlock outputs;
the class-conditioned one also scales them by FCBlock(c) first.
"""

from __future__ import annotations

import torch
from torch import nn


def conv(cin: int, cout: int) -> nn.Sequential:
    """Conv2d(k3, s1, p1) + BatchNorm + GELU: keeps the resolution."""
    return nn.Sequential(nn.Conv2d(cin, cout, 3, 1, 1), nn.BatchNorm2d(cout), nn.GELU())


def down_conv(cin: int, cout: int) -> nn.Sequential:
    """Conv2d(k3, s2, p1) + BatchNorm + GELU: halves the resolution."""
    return nn.Sequential(nn.Conv2d(cin, cout, 3, 2, 1), nn.BatchNorm2d(cout), nn.GELU())


def up_conv(cin: int, cout: int) -> nn.Sequential:
    """ConvTranspose2d(k4, s2, p1) + BatchNorm + GELU: doubles the resolution."""
    return nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, 2, 1), nn.BatchNorm2d(cout), nn.GELU())


def flatten() -> nn.Sequential:
    """AvgPool2d(7) + GELU: 7x7 -> 1x1."""
    return nn.Sequential(nn.AvgPool2d(7), nn.GELU())


def unflatten(channels: int) -> nn.Sequential:
    """ConvTranspose2d(k7, s7, p0) + BatchNorm + GELU: 1x1 -> 7x7."""
    return nn.Sequential(
        nn.ConvTranspose2d(channels, channels, 7, 7, 0), nn.BatchNorm2d(channels), nn.GELU()
    )


def conv_block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(conv(cin, cout), conv(cout, cout))


def down_block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(down_conv(cin, cout), conv_block(cout, cout))


def up_block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(up_conv(cin, cout), conv_block(cout, cout))


def fc_block(cin: int, cout: int) -> nn.Sequential:
    """Linear -> GELU -> Linear: embeds a scalar t or a one-hot class vector."""
    return nn.Sequential(nn.Linear(cin, cout), nn.GELU(), nn.Linear(cout, cout))


class UnconditionalUNet(nn.Module):
    """The one-step denoiser: maps a noisy digit to a clean one."""

    def __init__(self, in_channels: int = 1, hidden: int = 128):
        super().__init__()
        d = hidden
        self.hidden = d
        self.in_channels = in_channels
        self.first = conv_block(in_channels, d)
        self.down1 = down_block(d, d)
        self.down2 = down_block(d, 2 * d)
        self.flatten = flatten()
        self.unflatten = unflatten(2 * d)
        self.up1 = up_block(4 * d, d)
        self.up2 = up_block(2 * d, d)
        self.last = conv_block(2 * d, d)
        self.out = nn.Conv2d(d, in_channels, 3, 1, 1)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        s28 = self.first(x)
        s14 = self.down1(s28)
        s7 = self.down2(s14)
        return s28, s14, s7, self.unflatten(self.flatten(s7))

    def decode(self, s28, s14, s7, bottleneck, scale1=1, shift1=0, scale2=1, shift2=0):
        """Upsampling path; (scale, shift) modulate the bottleneck and the first UpBlock."""
        h = scale1 * bottleneck + shift1
        h = self.up1(torch.cat([s7, h], dim=1))
        h = scale2 * h + shift2
        h = self.up2(torch.cat([s14, h], dim=1))
        h = self.last(torch.cat([s28, h], dim=1))
        return self.out(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(*self.encode(x))


class TimeConditionalUNet(UnconditionalUNet):
    """Predicts the noise of x_t given t/T in [0, 1]."""

    def __init__(self, in_channels: int = 1, hidden: int = 64):
        super().__init__(in_channels, hidden)
        self.t1 = fc_block(1, 2 * hidden)
        self.t2 = fc_block(1, hidden)

    @staticmethod
    def _column(v: torch.Tensor, batch: int) -> torch.Tensor:
        v = torch.as_tensor(v, dtype=torch.float32)
        return v.reshape(-1, 1).expand(batch, -1) if v.numel() == 1 else v.reshape(batch, -1)

    def time_shift(self, t: torch.Tensor, batch: int, dtype: torch.dtype):
        t = self._column(t, batch).to(self.t1[0].weight.device, dtype)
        return self.t1(t)[..., None, None], self.t2(t)[..., None, None]

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        shift1, shift2 = self.time_shift(t, x.shape[0], x.dtype)
        return self.decode(*self.encode(x), shift1=shift1, shift2=shift2)


class ClassConditionalUNet(TimeConditionalUNet):
    """Predicts the noise of x_t given t/T and a one-hot class vector c (all zeros = no class)."""

    def __init__(self, in_channels: int = 1, hidden: int = 64, num_classes: int = 10):
        super().__init__(in_channels, hidden)
        self.num_classes = num_classes
        self.c1 = fc_block(num_classes, 2 * hidden)
        self.c2 = fc_block(num_classes, hidden)

    def forward(self, x: torch.Tensor, t: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift1, shift2 = self.time_shift(t, x.shape[0], x.dtype)
        c = c.to(x.dtype)
        scale1, scale2 = self.c1(c)[..., None, None], self.c2(c)[..., None, None]
        return self.decode(*self.encode(x), scale1, shift1, scale2, shift2)


MODELS = {
    "unconditional": UnconditionalUNet,
    "time": TimeConditionalUNet,
    "class": ClassConditionalUNet,
}


def build(kind: str, hidden: int, in_channels: int = 1) -> nn.Module:
    """The UNet of one kind ("unconditional", "time" or "class")."""
    if kind not in MODELS:
        raise ValueError(f"unknown UNet kind {kind!r}; choose one of {sorted(MODELS)}")
    return MODELS[kind](in_channels=in_channels, hidden=hidden)


def one_hot(labels: torch.Tensor, num_classes: int = 10) -> torch.Tensor:
    return nn.functional.one_hot(labels.long(), num_classes).float()
