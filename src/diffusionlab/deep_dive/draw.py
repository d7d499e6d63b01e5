"""Sampling a deep dive checkpoint: the samples, and the frames its figures show."""

from __future__ import annotations

import torch

from ..models import sample_shape
from ..part_b import sample_classes
from ..sampling import sample
from ..schedule import DDPMSchedule
from ..training import load_checkpoint, read_checkpoint, spec_of


def strip_steps(num_steps: int, every: int) -> list[int]:
    """The timesteps T-1 .. 0 whose x_t the strips show: the multiples of `every`, largest
    first (the last is t = 0: the finished sample)."""
    return [t for t in range(num_steps - 1, -1, -1) if t % every == 0]


def draw(checkpoint, *, seed: int, variance: str, strip_every: int, strips: int,
         num_samples: int | None = None, samples_per_class: int | None = None,
         guidance: float = 0.0, device="cpu", precision: str = "fp32") -> dict:
    """Samples of a checkpoint from the seed's noise, ancestral DDPM with all T steps; a class
    model draws samples_per_class of each class in turn (0, 1, ..., K-1, 0, 1, ...) with
    classifier-free guidance.

    Returns {"samples": [N, C, H, W], "classes": [N] (empty for a time model), "frames":
    [F, N, C, H, W] (x_t after each step of `steps`), "steps": [F], "epoch", "strips",
    "class_names" (of the data the model was trained on)}; float
    tensors on the CPU, samples as the model made them (not clamped)."""
    ck = read_checkpoint(checkpoint)
    spec = spec_of(ck, checkpoint)
    model = load_checkpoint(checkpoint, device, precision)
    settings = ck["settings"]
    schedule = DDPMSchedule.linear(settings["num_steps"], settings["beta_start"],
                                   settings["beta_end"])
    classes = None
    if spec["kind"] == "class":
        classes = sample_classes(samples_per_class, spec["num_classes"])
        num_samples = len(classes)
    x, frames = sample(model, schedule, num_samples, generator=torch.Generator().manual_seed(seed),
                       classes=classes, guidance=guidance if classes is not None else 0.0,
                       image_shape=sample_shape(spec), variance=variance,
                       keep_every=strip_every, device=device, progress=True)
    return {"samples": x.float(), "frames": torch.stack(frames).float(),
            "steps": torch.tensor(strip_steps(schedule.num_steps, strip_every)),
            "classes": classes if classes is not None else torch.zeros(0, dtype=torch.long),
            "epoch": int(ck["epoch"]), "strips": min(strips, len(x)),
            "class_names": list(ck.get("data", {}).get("class_names", []))}
