"""The classifier that judges every metric of the evaluation.

Two stages, each halving the image (28 -> 14 -> 7), a fully connected feature layer and a
linear read-out. A stage is one 5x5 convolution (`arch` lenet, LeNet-style) or two 3x3
convolutions with batch normalisation (`arch` vgg). The feature layer (after its ReLU) is the
space in which Frechet distances are measured. Training is deterministic for a seed: the
weights are initialised under a forked, seeded RNG and every shuffle and augmentation comes
from an explicit CPU generator.

With few training images (the embedded 4,000 digits) the plain LeNet reaches about 97% and
reads only 91% of real test digits with confidence >= 0.9; random small affine transforms,
dropout before the read-out and a one-cycle learning rate take it to about 98.5% and 97%, the
vgg stages trained twice as long to 99% and 98% (docs/benchmarks.md). A judge that doubts real
digits would undercount good samples.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn

from ..batched import apply_batched, device_of
from ..data import as_float
from ..torchfiles import atomic_save, read_torch_dict

# Mean and standard deviation of MNIST pixels in [0, 1], to centre the network's input.
PIXEL_MEAN, PIXEL_STD = 0.1307, 0.3081


ARCHS = ("lenet", "vgg")


def _stage(arch: str, c_in: int, c_out: int) -> list[nn.Module]:
    """Convolutions keeping the size, then a 2x2 max pooling."""
    if arch == "lenet":
        return [nn.Conv2d(c_in, c_out, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2)]
    layers = []
    for c in (c_in, c_out):  # batch norm's shift replaces the convolutions' biases
        layers += [nn.Conv2d(c, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]
    return [*layers, nn.MaxPool2d(2)]


class DigitClassifier(nn.Module):
    """For images of any channel count and any size divisible by 4 (the deep dive's data sets);
    the defaults are MNIST's."""

    def __init__(
        self, channels: Sequence[int] = (32, 64), features: int = 128, num_classes: int = 10,
        in_channels: int = 1, image_size: int = 28, dropout: float = 0.0, arch: str = "lenet",
    ):
        super().__init__()
        if image_size % 4:
            raise ValueError(f"image_size {image_size} must be a multiple of 4 (two poolings)")
        if arch not in ARCHS:
            raise ValueError(f"arch must be one of {ARCHS}, not {arch!r}")
        c1, c2 = channels
        self.channels, self.num_features, self.num_classes = (c1, c2), features, num_classes
        self.in_channels, self.image_size, self.arch = in_channels, image_size, arch
        self.body = nn.Sequential(
            *_stage(arch, in_channels, c1),
            *_stage(arch, c1, c2),
            nn.Flatten(),
            nn.Linear(c2 * (image_size // 4) ** 2, features),
            nn.ReLU(),
        )
        # Only while training; no parameters, so checkpoints hold the same tensors either way.
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(features, num_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer features of images [N, C, S, S] in [0, 1]."""
        return self.body((x - PIXEL_MEAN) / PIXEL_STD)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits."""
        return self.head(self.dropout(self.embed(x)))


def as_input(images: torch.Tensor) -> torch.Tensor:
    """uint8 or float images [N, H, W] (one channel) or [N, C, H, W] -> float [N, C, H, W]."""
    if images.dtype == torch.uint8:
        return as_float(images)
    images = images.float()
    return images.unsqueeze(1) if images.dim() == 3 else images


LR_SCHEDULES = ("constant", "onecycle")


def random_affine(
    x: torch.Tensor, generator: torch.Generator, shift: float = 2.0, degrees: float = 10.0,
    scale: float = 0.1,
) -> torch.Tensor:
    """Each image [N, C, S, S] moved by up to `shift` pixels, rotated by up to `degrees` and
    scaled by up to 1 +- `scale` (uniform draws from `generator`), zeros outside: digits
    written a little off-centre, tilted or larger. No flips (a mirrored 2 is no digit)."""
    n, size = len(x), x.shape[-1]

    def uniform(*shape):
        return (torch.rand(*shape, generator=generator) * 2 - 1).to(x.device)

    angle = uniform(n) * degrees * torch.pi / 180
    zoom = 1 + uniform(n) * scale
    offset = uniform(n, 2) * shift * 2 / size  # grid coordinates span 2 over `size` pixels
    cos, sin = zoom * angle.cos(), zoom * angle.sin()
    theta = torch.stack([torch.stack([cos, -sin, offset[:, 0]], 1),
                         torch.stack([sin, cos, offset[:, 1]], 1)], 1)
    grid = nn.functional.affine_grid(theta, list(x.shape), align_corners=False)
    return nn.functional.grid_sample(x, grid, align_corners=False)


def train_classifier(
    images_u8: torch.Tensor,
    labels: torch.Tensor,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    device: torch.device | str = "cpu",
    *,
    channels: Sequence[int] = (32, 64),
    features: int = 128,
    num_classes: int = 10,
    augment: bool = False,
    dropout: float = 0.0,
    lr_schedule: str = "constant",
    arch: str = "lenet",
    autocast_bf16: bool = False,
    on_epoch: Callable[[int, float, int], None] | None = None,
) -> DigitClassifier:
    """Train with Adam on the cross-entropy over every image given; returns the model in eval
    mode on `device`.

    `arch`: the stages' kind (DigitClassifier); `augment`: each batch through `random_affine`;
    `dropout` before the read-out; `lr_schedule` constant, or onecycle (torch's OneCycleLR per
    step, peaking at 3 x lr: lr is the rate of the constant schedule it replaces);
    `autocast_bf16`: forward passes under bf16 autocast, images and weights channels-last (the
    part B trainings' fast path; the weights and the optimiser stay fp32).

    `on_epoch(epoch, mean_loss, seen)` is called after each epoch (for logs), `seen` being the
    number of images the epoch trained on: all of them, the last batch possibly smaller.
    """
    if epochs < 1 or batch_size < 1 or lr <= 0:
        raise ValueError("epochs >= 1, batch_size >= 1 and lr > 0 are required")
    if lr_schedule not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, not {lr_schedule!r}")
    if len(images_u8) != len(labels):
        raise ValueError(f"{len(images_u8)} images but {len(labels)} labels")
    x_all, y_all = as_input(images_u8).to(device), labels.long().to(device)
    # The global RNG, forked and seeded, draws the initial weights and dropout's masks.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DigitClassifier(channels, features, num_classes, x_all.shape[1], x_all.shape[2],
                                dropout, arch).to(device)
        layout = torch.channels_last if autocast_bf16 else torch.contiguous_format
        model = model.to(memory_format=layout)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        g = torch.Generator().manual_seed(seed)
        n = len(y_all)
        sched = None
        if lr_schedule == "onecycle":
            sched = torch.optim.lr_scheduler.OneCycleLR(
                opt, max_lr=3 * lr, total_steps=epochs * -(-n // batch_size))
        for epoch in range(1, epochs + 1):
            model.train()
            order = torch.randperm(n, generator=g).to(x_all.device)
            total, seen = 0.0, 0
            for lo in range(0, n, batch_size):
                idx = order[lo : lo + batch_size]
                x = random_affine(x_all[idx], g) if augment else x_all[idx]
                with torch.autocast(x.device.type, torch.bfloat16, enabled=autocast_bf16):
                    scores = model(x.contiguous(memory_format=layout))
                loss = nn.functional.cross_entropy(scores.float(), y_all[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if sched is not None:
                    sched.step()
                total += loss.item() * len(idx)
                seen += len(idx)
            if on_epoch is not None:
                on_epoch(epoch, total / seen, seen)
    return model.eval()


def logits(model: DigitClassifier, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    model.eval()
    return apply_batched(model, as_input(images), device_of(model), batch_size)


def probabilities(
    model: DigitClassifier, images: torch.Tensor, batch_size: int = 1000
) -> torch.Tensor:
    """Class probabilities [N, 10] (float32, CPU)."""
    return logits(model, images, batch_size).softmax(dim=1)


def predict(model: DigitClassifier, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """The most probable class of each image."""
    return logits(model, images, batch_size).argmax(dim=1)


def features(model: DigitClassifier, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Penultimate-layer features [N, F] (float32, CPU)."""
    model.eval()
    return apply_batched(model.embed, as_input(images), device_of(model), batch_size)


def accuracy(
    model: DigitClassifier, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000
) -> float:
    """Fraction of images whose most probable class is their label."""
    return (predict(model, images, batch_size) == labels.cpu().long()).double().mean().item()


def save_classifier(model: DigitClassifier, path: str | Path, meta: dict | None = None) -> None:
    """Write weights and architecture (loadable with torch.load(weights_only=True)), atomically."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    checkpoint = {
        "model": state,
        "channels": list(model.channels),
        "features": model.num_features,
        "num_classes": model.num_classes,
        "in_channels": model.in_channels,
        "image_size": model.image_size,
        "arch": model.arch,
        "meta": meta or {},
    }
    atomic_save(checkpoint, Path(path))


def load_classifier(path: str | Path, device: torch.device | str = "cpu") -> DigitClassifier:
    ck = read_torch_dict(path, {"model", "channels", "features", "num_classes"}, "a classifier")
    # Files written before other data sets (or other stages) hold MNIST's LeNet.
    model = DigitClassifier(ck["channels"], ck["features"], ck["num_classes"],
                            ck.get("in_channels", 1), ck.get("image_size", 28),
                            arch=ck.get("arch", "lenet"))
    model.load_state_dict(ck["model"])
    return model.to(device).eval()
