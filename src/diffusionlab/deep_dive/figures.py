"""The deep dive's figures: sample grids by class, the write-up's "summary" and "detailed
sampling" figures, and samples beside their nearest training images.

Images are float [C, H, W] in [0, 1] (grey or RGB); every figure clamps them to that range
before they become pixels (figures.to_numpy_image, figures.tile): the write-up cast values
outside it to uint8 and its colours wrapped around.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from ..figures import animation, image_grid


def class_rows(samples: torch.Tensor, classes: torch.Tensor, num_classes: int) -> list[list]:
    """Samples grouped into one row per class (in class order), each in drawing order."""
    return [list(samples[classes == k]) for k in range(num_classes)]


def sample_grid(samples: torch.Tensor, path, *, title: str, classes: torch.Tensor | None = None,
                class_names: Sequence[str] = (), columns: int = 8) -> None:
    """All samples of a run: one row per class, labelled with its name, for a class model;
    rows of `columns` otherwise."""
    if classes is not None:
        rows = class_rows(samples, classes, len(class_names))
        image_grid(rows, path, row_labels=list(class_names), title=title, cell_inches=0.8)
        return
    rows = [list(samples[i : i + columns]) for i in range(0, len(samples), columns)]
    image_grid(rows, path, title=title, cell_inches=0.8)


def sampling_figures(drawn: dict, grid, gif, *, title: str, frame_ms: int,
                     guidance: float = 0.0, samples_per_class: int | None = None,
                     what: str = "samples") -> dict:
    """The grid (one row per class for a class model) and the animation of a checkpoint's
    samples (deep_dive.draw's dict, images in [0, 1]; `what` names them in the title); returns
    what the samples file keeps: `drawn` with the frames of the strips' samples only."""
    classes = drawn["classes"] if len(drawn["classes"]) else None
    how = f"class-conditioned, CFG γ = {guidance:g}" if classes is not None \
        else "time-conditioned"
    sample_grid(drawn["samples"], grid, classes=classes, class_names=drawn["class_names"],
                title=f"{title}: {what} ({how}) after epoch {drawn['epoch']}")
    columns = samples_per_class if classes is not None else 8
    order = torch.argsort(classes, stable=True) if classes is not None else slice(None)
    animation([f[order] for f in drawn["frames"]], gif, columns=columns, frame_ms=frame_ms)
    kept = {k: v for k, v in drawn.items() if k != "strips"}
    kept["frames"] = drawn["frames"][:, : drawn["strips"]].clone()
    return kept


def summary_figure(samples_by_epoch: Mapping[int, torch.Tensor], count: int, path,
                   title: str) -> None:
    """The write-up's "summary": a row of the first `count` samples of each sampled epoch."""
    epochs = sorted(samples_by_epoch)
    rows = [list(samples_by_epoch[e][:count]) for e in epochs]
    image_grid(rows, path, row_labels=[f"epoch {e}" for e in epochs], title=title,
               cell_inches=0.9)


def detailed_figure(frames: torch.Tensor, steps: Sequence[int], path, title: str,
                    row_labels: Sequence[str] | None = None) -> None:
    """The write-up's "detailed sampling": one strip per sample, x_t at the steps given.

    frames: [F, S, C, H, W], frame f of every sample taken after the denoising step t = steps[f].
    """
    rows = [list(frames[:, s]) for s in range(frames.shape[1])]
    image_grid(rows, path, row_labels=row_labels, col_labels=[f"t={t}" for t in steps],
               title=title, cell_inches=0.6)


def nearest_figure(samples: torch.Tensor, nearest: torch.Tensor, distances: torch.Tensor,
                   path, title: str) -> None:
    """Samples (top row) above their nearest training images, with the RMS distance."""
    image_grid([list(samples), list(nearest)], path, row_labels=["sample", "nearest\ntraining"],
               col_labels=[f"{d:.3f}" for d in distances.tolist()], title=title,
               cell_inches=0.8)
