"""Class-conditioned backends: part A's algorithms on any class-conditioned UNet the pipeline
trains (part B's MNIST model, a deep dive data set's class model).

The "text" of such a model is a class: prompts name one of its data set's classes
(class_prompts: "sneaker", "a photo of a sneaker") and the null prompt "" is the all-zero class
vector the model was trained with (p_uncond). The checkpoint gives everything else: the image
shape (channels, size), the classes (its data meta's class_names) and the linear-beta DDPM
schedule; images are in [0, 1] (the models' own space) and reverse steps add fixed-variance
noise (beta_t by default). `MNISTBackend` is part B's model, named "mnist": its classes are the
digits (digit_prompts: "a handwritten 7", "7"), 1x28x28, T = part_b.schedule.num_steps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from ..models import is_class_conditional, sample_shape
from ..sampling.timesteps import spaced_timesteps
from ..schedule import DDPMSchedule
from ..training import load_checkpoint, read_checkpoint
from ..unet import one_hot
from .backend import DenoiserBackend, PromptError
from .class_prompts import prompt_class
from .denoise import sample
from .guidance import guided
from .images import load_image, to_tensor


class ClassBackend(DenoiserBackend):
    """A class-conditioned UNet of the pipeline, named after its data set (`name`)."""

    name = "classes"
    value_range = (0.0, 1.0)

    def __init__(
        self,
        model: torch.nn.Module,
        schedule: DDPMSchedule,
        device: torch.device | str = "cpu",
        variance: str = "beta",
        class_names: Sequence[str] | None = None,
        name: str | None = None,
    ):
        if name is not None:
            self.name = name
        if not is_class_conditional(model):
            raise TypeError(f"the {self.name} backend needs a class-conditioned model")
        if variance not in ("beta", "posterior"):
            raise ValueError(f"variance must be beta or posterior, not {variance!r}")
        super().__init__(schedule.alphas_cumprod, device)
        self.variance_type = variance
        self.channels, self.image_size, _ = sample_shape(model.spec)
        self.num_classes = model.spec["num_classes"]
        # Checkpoints written without the data's class names (tests) number their classes.
        self.class_names = list(class_names or [str(k) for k in range(self.num_classes)])
        if len(self.class_names) != self.num_classes:
            raise ValueError(f"{len(self.class_names)} class names for a model of "
                             f"{self.num_classes} classes")
        self.model = model.to(self.device).eval()

    @classmethod
    def from_checkpoint(
        cls, path, device: torch.device | str = "cpu", variance: str = "beta",
        precision: str = "fp32", name: str | None = None,
    ) -> ClassBackend:
        """The backend of a class-conditioned checkpoint, with its own DDPM schedule and its
        data's class names; `precision` as performance.sample_precision
        (training.load_checkpoint). `name` defaults to the data set's."""
        ck = read_checkpoint(path)
        settings, data = ck["settings"], ck.get("data") or {}
        schedule = DDPMSchedule.linear(
            settings["num_steps"], settings["beta_start"], settings["beta_end"]
        )
        return cls(load_checkpoint(path, device, precision), schedule, device, variance,
                   data.get("class_names"), name or data.get("name") or Path(path).stem)

    def class_index(self, prompt: str) -> int | None:
        """The class a prompt asks for, None for the null prompt; PromptError otherwise."""
        try:
            return prompt_class(prompt, self.class_names, f"the {self.name} backend")
        except ValueError as err:
            raise PromptError(str(err)) from err

    def encode_prompts(self, prompts: Sequence[str]) -> torch.Tensor:
        rows = []
        for prompt in prompts:
            index = self.class_index(prompt)
            rows.append(
                torch.zeros(self.num_classes)
                if index is None
                else one_hot(torch.tensor(index), self.num_classes)
            )
        return torch.stack(rows).to(self.device)

    @torch.no_grad()
    def predict(self, x_t, t, embeddings):
        x_t = x_t.to(self.device)
        t_in = torch.full((x_t.shape[0],), t / self.num_steps, device=self.device)
        return self.model(x_t, t_in, embeddings.to(self.device)).float(), None

    def text_to_image(self, cond, uncond, num_inference_steps, guidance, generator):
        """CFG sampling with num_inference_steps steps between evenly spaced timesteps from T-1
        to 0 (diffusers' linspace spacing; no pipeline here)."""
        if not 1 <= num_inference_steps < self.num_steps:
            raise ValueError(f"num_inference_steps must lie in 1..{self.num_steps - 1}")
        timesteps = spaced_timesteps(self.num_steps, num_inference_steps + 1, "linspace")
        estimator = guided(self, cond, uncond, guidance)
        return sample(self, cond.shape[0], timesteps, estimator, generator)[0]


class MNISTBackend(ClassBackend):
    """Part B's class-conditioned MNIST UNet (its checkpoint's classes are the digits)."""

    name = "mnist"

    @classmethod
    def from_checkpoint(
        cls, path, device: torch.device | str = "cpu", variance: str = "beta",
        precision: str = "fp32", name: str | None = None,
    ) -> MNISTBackend:
        return super().from_checkpoint(path, device, variance, precision, name or cls.name)


# Hand-drawn digits: strokes in a unit box (x right, y down), drawn as polylines.
def _arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float, n: int = 48):
    """Points of an elliptic arc, angles in degrees clockwise from 3 o'clock (y points down)."""
    angles = [math.radians(start + (end - start) * k / n) for k in range(n + 1)]
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles]


DIGIT_STROKES: dict[int, list[list[tuple[float, float]]]] = {
    0: [_arc(0.5, 0.5, 0.3, 0.45, 0, 360)],
    1: [[(0.35, 0.2), (0.55, 0.05), (0.55, 0.95)]],
    2: [_arc(0.5, 0.3, 0.28, 0.25, 200, 380) + [(0.2, 0.95), (0.82, 0.95)]],
    3: [_arc(0.5, 0.28, 0.27, 0.23, 200, 450), _arc(0.5, 0.72, 0.3, 0.23, 270, 520)],
    4: [[(0.62, 0.95), (0.62, 0.05), (0.15, 0.65), (0.85, 0.65)]],
    5: [[(0.78, 0.05), (0.3, 0.05), (0.26, 0.45)] + _arc(0.5, 0.68, 0.3, 0.27, 215, 500)],
    6: [[(0.72, 0.05), (0.45, 0.22), (0.28, 0.45), (0.22, 0.68)],
        _arc(0.5, 0.7, 0.28, 0.25, 0, 360)],
    7: [[(0.18, 0.05), (0.82, 0.05), (0.42, 0.95)]],
    8: [_arc(0.5, 0.27, 0.23, 0.22, 0, 360), _arc(0.5, 0.71, 0.28, 0.24, 0, 360)],
    9: [_arc(0.5, 0.3, 0.27, 0.25, 0, 360), [(0.77, 0.3), (0.7, 0.95)]],
}


def draw_digit(digit: int, size: int = 28, stroke: float = 0.11, supersample: int = 4):
    """A digit drawn with pen strokes, white on black like MNIST: [1, 1, size, size] in [0, 1].

    The digit fills the central 20/28 of the canvas (MNIST's box); `stroke` is the pen width
    as a fraction of that box. Drawn `supersample` times larger, then averaged down.
    """
    if digit not in DIGIT_STROKES:
        raise ValueError(f"no strokes for digit {digit!r}; digits are 0-9")
    big = size * supersample
    box, margin = big * 20 / 28, big * 4 / 28
    width = max(1, round(stroke * box))
    canvas = Image.new("L", (big, big), 0)
    pen = ImageDraw.Draw(canvas)
    for line in DIGIT_STROKES[digit]:
        points = [(margin + x * box, margin + y * box) for x, y in line]
        pen.line(points, fill=255, width=width, joint="curve")
        for px, py in (points[0], points[-1]):  # round pen caps
            r = width / 2
            pen.ellipse((px - r, py - r, px + r, py + r), fill=255)
    return to_tensor(canvas.resize((size, size), Image.Resampling.BOX))


def load_drawing(source: str, size: int = 28) -> torch.Tensor:
    """A drawing from an image source as an MNIST-like digit, [1, 1, size, size] in [0, 1].

    Read in grey levels and resized; a drawing with a light background (mean above 1/2,
    dark ink on paper) is inverted to MNIST's white strokes on black.
    """
    image = load_image(source, size, channels=1)
    return 1.0 - image if image.mean() > 0.5 else image
