"""The part B experiments on MNIST, one function per figure or table of the write-up."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import torch

from .batched import apply_batched
from .data import MNIST, as_float
from .figures import animation, image_grid, loss_curve
from .measures import mse, psnr
from .sampling import sample
from .schedule import DDPMSchedule
from .training import load_checkpoint, read_checkpoint


def noise_images(x: torch.Tensor, sigma: float, generator: torch.Generator) -> torch.Tensor:
    """z = x + sigma * eps, eps ~ N(0, I)."""
    return x + sigma * torch.randn(x.shape, generator=generator)


def first_digits(mnist: MNIST, count: int, split: str = "test") -> torch.Tensor:
    """The first `count` digits of a split as floats in [0, 1]."""
    images = mnist.test_images if split == "test" else mnist.train_images
    return as_float(images[:count])


def sigma_label(sigma: float) -> str:
    return f"σ = {sigma:g}"


def noising_figure(mnist: MNIST, sigmas: Sequence[float], digits: int, seed: int, path) -> None:
    """1.2: the same test digits noised at each sigma (rows: digits, columns: sigma)."""
    x = first_digits(mnist, digits)
    g = torch.Generator().manual_seed(seed)
    eps = torch.randn(x.shape, generator=g)  # one draw, scaled: columns differ only by sigma
    columns = [x + s * eps for s in sigmas]
    rows = [[col[i] for col in columns] for i in range(digits)]
    image_grid(
        rows,
        path,
        col_labels=[sigma_label(s) for s in sigmas],
        title="Noising z = x + σε on test digits",
    )


def denoiser_results_figure(
    checkpoint: str | Path, mnist: MNIST, sigma: float, digits: int, seed: int, path, device="cpu",
    precision: str = "fp32",
) -> None:
    """1.2.1: test digits, their noisy versions and the denoiser's output (rows); `precision`
    as `training.load_checkpoint`'s."""
    epoch = read_checkpoint(checkpoint)["epoch"]
    model = load_checkpoint(checkpoint, device, precision)
    x = first_digits(mnist, digits)
    z = noise_images(x, sigma, torch.Generator().manual_seed(seed))
    out = apply_batched(model, z, device)
    image_grid(
        [list(x), list(z), list(out)],
        path,
        row_labels=["clean", f"noisy ({sigma_label(sigma)})", "denoised"],
        title=f"One-step denoiser after epoch {epoch}",
    )


def out_of_distribution(
    checkpoint: str | Path,
    mnist: MNIST,
    sigmas: Sequence[float],
    digits: int,
    seed: int,
    figure_path,
    metrics_path,
    device="cpu",
    precision: str = "fp32",
) -> pd.DataFrame:
    """1.2.2: the trained denoiser at every sigma; figure on a few digits, metrics on all.

    MSE and PSNR are over the whole test split, clean digits against the denoised output,
    with the noise drawn from one seeded generator per sigma; `precision` as
    `training.load_checkpoint`'s.
    """
    model = load_checkpoint(checkpoint, device, precision)
    x_all = as_float(mnist.test_images)
    rows, noisy_row, out_row = [], [], []
    for k, s in enumerate(sigmas):
        z = noise_images(x_all, s, torch.Generator().manual_seed(seed + k))
        out = apply_batched(model, z, device)
        error = mse(out, x_all)
        rows.append({"sigma": s, "mse": error, "psnr_db": psnr(error), "test_digits": len(x_all)})
        noisy_row.append(z[:digits])
        out_row.append(out[:digits])
    grid = []
    for i in range(min(digits, len(x_all))):
        grid.append([z[i] for z in noisy_row])
        grid.append([o[i] for o in out_row])
    labels = [
        lab for i in range(len(grid) // 2) for lab in (f"noisy #{i + 1}", f"denoised #{i + 1}")
    ]
    image_grid(
        grid,
        figure_path,
        row_labels=labels,
        col_labels=[sigma_label(s) for s in sigmas],
        title="Denoiser trained at one σ, tested at every σ",
    )
    table = pd.DataFrame(rows)
    table.to_csv(metrics_path, index=False, float_format="%.6g")
    return table


def plot_losses(csv_path, png_path, title: str) -> None:
    loss_curve(pd.read_csv(csv_path), png_path, title)


def sample_classes(samples_per_class: int, num_classes: int = 10) -> torch.Tensor:
    """0, 1, ..., 9 repeated: one column per digit when tiled in rows of num_classes."""
    return torch.arange(num_classes).repeat(samples_per_class)


def sampling_figures(
    checkpoint: str | Path,
    schedule: DDPMSchedule,
    *,
    num_samples: int,
    seed: int,
    grid_path,
    gif_path,
    classes: torch.Tensor | None = None,
    guidance: float = 0.0,
    variance: str = "beta",
    frame_every: int = 10,
    frame_ms: int = 80,
    columns: int = 10,
    device="cpu",
    precision: str = "fp32",
) -> None:
    """2.3 / 2.5: a grid of samples and an animation of the same sampling run."""
    ck = read_checkpoint(checkpoint)
    model = load_checkpoint(checkpoint, device, precision)
    g = torch.Generator().manual_seed(seed)
    x, frames = sample(
        model,
        schedule,
        num_samples,
        generator=g,
        classes=classes,
        guidance=guidance,
        variance=variance,
        keep_every=frame_every,
        device=device,
        progress=True,
    )
    n_rows = (num_samples + columns - 1) // columns
    rows = [list(x[r * columns : (r + 1) * columns]) for r in range(n_rows)]
    what = "time-conditioned" if classes is None else f"class-conditioned, CFG γ = {guidance:g}"
    image_grid(
        rows,
        grid_path,
        col_labels=[str(c) for c in range(columns)] if classes is not None else None,
        title=f"Samples ({what}) after epoch {ck['epoch']}",
        cell_inches=0.8,
    )
    animation(frames, gif_path, columns=columns, frame_ms=frame_ms)
