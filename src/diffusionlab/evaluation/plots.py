"""Figures of the evaluation tables; the same table gives a byte-identical PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import FormatStrFormatter, NullFormatter

from ..figures import plt, save_figure


def _finish(fig, axes, path: str | Path, title: str | None) -> None:
    for ax in axes:
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)


def steps_figure(
    quality: pd.DataFrame, timing: pd.DataFrame, path: str | Path, title: str | None = None
) -> None:
    """Frechet distance against sampler steps and against wall time, one line per method."""
    table = quality.merge(timing[["method", "steps", "seconds"]], on=["method", "steps"])
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for method, rows in table.groupby("method", sort=False):
        rows = rows.sort_values("steps")
        axes[0].plot(rows["steps"], rows["frechet_distance"], "o-", label=method.upper())
        axes[1].plot(rows["seconds"], rows["frechet_distance"], "o-", label=method.upper())
        for _, r in rows.iterrows():
            axes[1].annotate(str(r["steps"]), (r["seconds"], r["frechet_distance"]),
                             textcoords="offset points", xytext=(3, 3), fontsize=7)
    for ax, xlabel in zip(axes, ["sampling steps", "wall time (s)"], strict=True):
        ax.axhline(table["floor"].iloc[0], color="grey", ls="--", label="train vs test digits")
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(xlabel)
        ax.set_ylabel("Fréchet distance to test digits")
    axes[0].set_xticks(sorted(table["steps"].unique()))
    # A few seconds span less than a decade: without ticks at the measured times the log axis
    # would be labelled at one power of ten, or none.
    first = table[table["method"] == table["method"].iloc[0]]
    axes[1].set_xticks(sorted(first["seconds"]))
    axes[1].xaxis.set_major_formatter(FormatStrFormatter("%.2g"))
    _finish(fig, axes, path, title)


def guidance_figure(table: pd.DataFrame, path: str | Path, title: str | None = None) -> None:
    """Classifier accuracy of class-conditioned samples against the guidance scale."""
    fig, ax = plt.subplots(figsize=(5.4, 3.6))
    for digit, rows in table.groupby("digit"):
        ax.plot(rows["guidance"], rows["accuracy"], "-", lw=0.8, alpha=0.35, color="C0")
        ax.annotate(str(digit), (rows["guidance"].iloc[-1], rows["accuracy"].iloc[-1]),
                    textcoords="offset points", xytext=(3, 0), fontsize=6, alpha=0.6)
    mean = table.groupby("guidance", sort=True)["accuracy"].mean()
    ax.plot(mean.index, mean.to_numpy(), "o-", color="C3", lw=2, label="mean over digits")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("guidance scale γ")
    ax.set_ylabel("classified as the requested digit")
    _finish(fig, [ax], path, title)


def denoising_figure(table: pd.DataFrame, path: str | Path, title: str | None = None) -> None:
    """MSE (log scale) and PSNR of each denoiser and baseline against sigma.

    A perfect estimate (the baselines at sigma = 0: MSE 0, PSNR inf) has no place on these axes
    and is left out.
    """
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for method, rows in table.groupby("method", sort=False):
        shown = rows[(rows["mse"] > 0) & np.isfinite(rows["psnr"])]
        axes[0].plot(shown["sigma"], shown["mse"], "o-", ms=3, label=method)
        axes[1].plot(shown["sigma"], shown["psnr"], "o-", ms=3, label=method)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("MSE")
    axes[1].set_ylabel("PSNR (dB)")
    for ax in axes:
        ax.set_xlabel("noise level σ")
    _finish(fig, axes, path, title)


def sdedit_figure(table: pd.DataFrame, path: str | Path, title: str | None = None) -> None:
    """Fraction of SDEdit edits that keep the source digit, against i_start."""
    fig, ax = plt.subplots(figsize=(5.4, 3.6))
    ax.plot(table["i_start"], table["kept_class"], "o-", label="classified as the source digit")
    ax.plot(table["i_start"], table["p_source"], "s--", label="mean p(source digit)")
    if "source_accuracy" in table:
        ax.axhline(table["source_accuracy"].iloc[0], color="grey", ls=":",
                   label="unedited digits read correctly")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xticks(table["i_start"])
    ax.set_xlabel("i_start (larger: less noise added)")
    ax.set_ylabel("fraction / probability")
    _finish(fig, [ax], path, title)


def illusions_figure(table: pd.DataFrame, path: str | Path, title: str | None = None) -> None:
    """Per illusion (a row of the illusions table): the fraction of samples whose every view
    reads as its digit, and the mean alignment and concealment, as horizontal bars."""
    labels = [f"{r.item}: {r.digits}\n{r.views}" for r in table.itertuples()]
    y = np.arange(len(table))
    fig, ax = plt.subplots(figsize=(7, 0.55 * len(table) + 1.4))
    bars = [("success_rate", "every view read as its digit"),
            ("alignment", "alignment (worst view's p of its digit)"),
            ("concealment", "concealment (worst view's margin)")]
    height = 0.8 / len(bars)
    for k, (column, label) in enumerate(bars):
        ax.barh(y + (k - 1) * height, table[column], height, label=label)
    ax.set_yticks(y, labels, fontsize=7)
    ax.invert_yaxis()
    ax.axvline(0, color="black", lw=0.6)
    ax.set_xlim(min(0.0, float(table["concealment"].min())) - 0.02, 1.02)
    ax.set_xlabel("fraction / probability (mean over samples)")
    _finish(fig, [ax], path, title)
