"""The figures of part A, each carrying its own labels (prompts, t, i_start).

Images come in as [C, H, W] (or [1, C, H, W]) tensors in [0, 1]; convert model-space images
with `backend.to_unit` first. PNGs go through the shared `image_grid`, which writes no
run-dependent metadata, so the same images give byte-identical files.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

import torch
from torch.nn import functional as F

from ..figures import image_grid
from .views import View


def _image(x: torch.Tensor) -> torch.Tensor:
    """Drop a leading batch dimension of one."""
    return x[0] if x.dim() == 4 else x


def wrap(label: str, width: int = 24) -> str:
    return "\n".join(textwrap.wrap(label, width)) or '""'


def t_label(t: int) -> str:
    return f"t = {t}"


def sampling_figure(
    images: Sequence[Sequence[torch.Tensor]],
    prompts: Sequence[str],
    steps: Sequence[int],
    stage: str,
    path: str | Path,
) -> None:
    """Rows: prompts; columns: num_inference_steps (section 0)."""
    image_grid(
        [[_image(x) for x in row] for row in images],
        path,
        row_labels=[wrap(p) for p in prompts],
        col_labels=[f"{n} steps" for n in steps],
        title=stage,
        cell_inches=1.6,
    )


def forward_figure(
    original: torch.Tensor, noisy: Sequence[torch.Tensor], ts: Sequence[int], path: str | Path
) -> None:
    """The test image and its noisy versions x_t (1.1)."""
    image_grid(
        [[_image(original), *(_image(x) for x in noisy)]],
        path,
        col_labels=["original", *(t_label(t) for t in ts)],
        title="forward process",
        cell_inches=1.6,
    )


def denoising_figure(
    rows: Sequence[tuple[str, Sequence[torch.Tensor]]],
    col_labels: Sequence[str],
    path: str | Path,
    title: str,
) -> None:
    """Labelled rows of images side by side: noisy input, blur, one-step, iterative (1.2-1.4)."""
    image_grid(
        [[_image(x) for x in images] for _, images in rows],
        path,
        row_labels=[wrap(label, 16) for label, _ in rows],
        col_labels=list(col_labels),
        title=title,
        cell_inches=1.6,
    )


def strip_figure(
    frames: Sequence[tuple[int, torch.Tensor]], path: str | Path, title: str
) -> None:
    """A denoising trajectory, one image per kept step, labelled with its t (1.4)."""
    image_grid(
        [[_image(x) for _, x in frames]],
        path,
        col_labels=[t_label(t) for t, _ in frames],
        title=wrap(title, 80),
        cell_inches=1.4,
    )


def samples_figure(images: torch.Tensor, path: str | Path, title: str) -> None:
    """A row of samples (1.5, 1.6)."""
    image_grid(
        [[x for x in images]],
        path,
        col_labels=[f"sample {k + 1}" for k in range(len(images))],
        title=wrap(title, 80),
        cell_inches=1.4,
    )


def sdedit_figure(
    rows: Sequence[tuple[str, torch.Tensor, Sequence[torch.Tensor]]],
    i_starts: Sequence[int],
    timesteps: Sequence[int],
    path: str | Path,
    title: str,
) -> None:
    """One row per input image: its edits at each i_start, then the original (1.7)."""
    image_grid(
        [[*(_image(x) for x in edits), _image(original)] for _, original, edits in rows],
        path,
        row_labels=[wrap(label, 16) for label, _, _ in rows],
        col_labels=[f"i_start = {i}\n({t_label(timesteps[i])})" for i in i_starts]
        + ["original"],
        title=wrap(title, 80),
        cell_inches=1.4,
    )


def inpainting_figure(
    original: torch.Tensor,
    mask: torch.Tensor,
    result: torch.Tensor,
    path: str | Path,
    title: str,
) -> None:
    """Image, mask, the hole to fill, and the inpainted result (1.7.2)."""
    original, mask = _image(original), _image(mask).expand_as(_image(original))
    image_grid(
        [[original, mask, original * (1 - mask), _image(result)]],
        path,
        col_labels=["original", "mask", "to replace", "result"],
        title=wrap(title, 80),
        cell_inches=1.6,
    )


def _batch(images: torch.Tensor) -> torch.Tensor:
    return images if images.dim() == 4 else images[None]


def anagram_figure(
    images: torch.Tensor, views: Sequence[View], prompts: Sequence[str], path: str | Path
) -> None:
    """Visual anagrams, one per row, under each of their views (columns), each column labelled
    with its view's prompt (1.8).

    Images are in [0, 1]; every view maps such images onto themselves except negation, which
    is shown as 1 - x (the same inversion within [0, 1]).
    """
    rows = []
    for image in _batch(images):
        row = [v.view(image) for v in views]
        rows.append([x + 1 if v.name == "negate" else x for x, v in zip(row, views, strict=True)])
    image_grid(
        rows,
        path,
        col_labels=[wrap(f"{p} ({v.name})") for p, v in zip(prompts, views, strict=True)],
        title="visual anagram",
        cell_inches=1.8,
    )


def seen_from_afar(image: torch.Tensor, scale: float) -> torch.Tensor:
    """The image shrunk by `scale` and centred on a white canvas of the original size."""
    image = _image(image)
    c, h, w = image.shape
    small_h, small_w = max(1, round(h * scale)), max(1, round(w * scale))
    small = F.interpolate(image[None], size=(small_h, small_w), mode="bilinear",
                          antialias=True, align_corners=False)[0].clamp(0, 1)
    canvas = torch.ones(c, h, w)
    top, left = (h - small_h) // 2, (w - small_w) // 2
    canvas[:, top : top + small_h, left : left + small_w] = small
    return canvas


def hybrid_figure(
    images: torch.Tensor,
    prompts: Sequence[str],
    path: str | Path,
    scales: Sequence[float] = (1.0, 0.5, 0.25),
) -> None:
    """Hybrid images, one per row, at several viewing sizes: up close the last prompt shows,
    from afar the first (1.9); a three-way hybrid shows its middle prompt in between."""
    bands = ["low", "mid", "high"] if len(prompts) == 3 else ["low", "high"]
    title = "; ".join(f"{band}: {p}" for band, p in zip(bands, prompts, strict=True))
    image_grid(
        [[seen_from_afar(image, s) for s in scales] for image in _batch(images)],
        path,
        col_labels=["full size" if s == 1 else f"{s:g} size (from afar)" for s in scales],
        title=wrap(f"hybrid image — {title}", 60),
        cell_inches=1.8,
    )
