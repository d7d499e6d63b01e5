"""Figures shared by both parts: labelled image grids, loss curves, sampling animations.

Every PNG is written without metadata that changes between runs, so the same images give
byte-identical files.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

PNG_METADATA = {"Software": None}


def to_numpy_image(x: torch.Tensor) -> np.ndarray:
    """[C, H, W] in [0, 1] -> HxW (grey) or HxWx3 array clipped to [0, 1]."""
    x = x.detach().float().cpu().clamp(0, 1)
    return x[0].numpy() if x.shape[0] == 1 else x.permute(1, 2, 0).numpy()


def save_figure(fig, path: str | Path, dpi: int = 100) -> None:
    fig.savefig(path, dpi=dpi, metadata=PNG_METADATA, bbox_inches="tight", pad_inches=0.05)
    plt.close(fig)


def image_grid(
    rows: Sequence[Sequence[torch.Tensor]],
    path: str | Path,
    *,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    title: str | None = None,
    cell_inches: float = 1.1,
) -> None:
    """Save a grid of [C, H, W] images in [0, 1], rows by columns, with optional labels."""
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    fig, axes = plt.subplots(
        n_rows, n_cols, figsize=(cell_inches * n_cols + (1.2 if row_labels else 0),
                                 cell_inches * n_rows + (0.4 if title else 0)),
        squeeze=False,
    )
    for i, row in enumerate(rows):
        for j in range(n_cols):
            ax = axes[i][j]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if j < len(row):
                ax.imshow(to_numpy_image(row[j]), cmap="gray", vmin=0, vmax=1,
                          interpolation="nearest")
            if i == 0 and col_labels and j < len(col_labels):
                ax.set_title(col_labels[j], fontsize=8)
            if j == 0 and row_labels:
                ax.set_ylabel(row_labels[i], fontsize=8, rotation=0, ha="right", va="center")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)


def loss_curve(losses: pd.DataFrame, path: str | Path, title: str) -> None:
    """Per-step training loss (log scale) with the mean of each epoch on top."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    steps = np.arange(1, len(losses) + 1)
    ax.plot(steps, losses["loss"], lw=0.6, alpha=0.6, label="per step")
    per_epoch = losses.assign(step_index=steps).groupby("epoch")
    ax.plot(per_epoch["step_index"].max(), per_epoch["loss"].mean(), "o-", ms=3,
            label="epoch mean")
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("L2 loss")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)


def tile(images: torch.Tensor, columns: int, pad: int = 1) -> torch.Tensor:
    """[N, C, H, W] -> one [C, H', W'] image laid out in rows of `columns`."""
    n, c, h, w = images.shape
    rows = (n + columns - 1) // columns
    canvas = torch.ones(c, rows * (h + pad) + pad, columns * (w + pad) + pad)
    for k in range(n):
        r, q = divmod(k, columns)
        top, left = pad + r * (h + pad), pad + q * (w + pad)
        canvas[:, top : top + h, left : left + w] = images[k].clamp(0, 1)
    return canvas


def animation(
    frames: Sequence[torch.Tensor], path: str | Path, columns: int, frame_ms: int, scale: int = 3
) -> None:
    """Save the sampling process as a looping GIF of [N, C, H, W] frames in [0, 1] (clamped),
    grey or colour; the last frame is held longer."""
    pictures = []
    for x in frames:
        arr = (to_numpy_image(tile(x, columns)) * 255).round().astype(np.uint8)
        img = Image.fromarray(arr)  # H x W: grey ("L"); H x W x 3: colour ("RGB")
        pictures.append(img.resize((img.width * scale, img.height * scale), Image.NEAREST))
    durations = [frame_ms] * (len(pictures) - 1) + [frame_ms * 25]
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=durations,
                     loop=0, optimize=False)
