"""Evaluation figures: the same table gives the same bytes, a different table other bytes."""

import pandas as pd
import pytest

from diffusionlab.evaluation import plots
from diffusionlab.evaluation.plots import (
    denoising_figure,
    guidance_figure,
    illusions_figure,
    sdedit_figure,
    steps_figure,
)

QUALITY = pd.DataFrame({"method": ["ddpm", "ddpm", "ddim", "ddim"], "steps": [300, 20, 300, 20],
                        "samples": 100, "frechet_distance": [1.0, 3.0, 1.2, 2.0], "floor": 0.5})
TIMING = QUALITY[["method", "steps"]].assign(seconds=[30.0, 2.0, 30.0, 2.0])
GUIDANCE = pd.DataFrame({"guidance": [0.0, 0.0, 5.0, 5.0], "digit": [1, 2, 1, 2],
                         "samples": 4, "accuracy": [0.5, 0.25, 1.0, 0.75],
                         "mean_probability": [0.4, 0.3, 0.9, 0.8]})
DENOISING = pd.DataFrame({"sigma": [0.0, 0.0, 0.5, 0.5], "method": ["noisy input", "UNet"] * 2,
                          "mse": [1e-9, 0.01, 0.25, 0.02], "psnr": [float("inf"), 20.0, 6.0, 17.0]})
SDEDIT = pd.DataFrame({"i_start": [1, 5, 10], "edits": 4, "kept_class": [0.0, 0.5, 1.0],
                       "p_source": [0.1, 0.5, 0.9]})
SDEDIT_CEILING = SDEDIT.assign(source_accuracy=0.95)
ILLUSIONS = pd.DataFrame({"item": ["anagram_0", "hybrid_0"], "digits": ["6 / 9", "0 / 1"],
                          "views": ["identity / flip", "far (low-pass) / near (full image)"],
                          "success_rate": [0.8, 0.4], "alignment": [0.7, 0.5],
                          "concealment": [0.5, -0.2]})

FIGURES = [
    (lambda t, p: steps_figure(t, TIMING, p, title="steps"), QUALITY, "frechet_distance"),
    (guidance_figure, GUIDANCE, "accuracy"),
    (denoising_figure, DENOISING, "mse"),
    (sdedit_figure, SDEDIT, "kept_class"),
    (sdedit_figure, SDEDIT_CEILING, "source_accuracy"),
    (illusions_figure, ILLUSIONS, "success_rate"),
]


@pytest.mark.parametrize("draw,table,column", FIGURES)
def test_figures_are_byte_deterministic(draw, table, column, tmp_path):
    draw(table, tmp_path / "a.png")
    draw(table, tmp_path / "b.png")
    changed = table.assign(**{column: table[column] * 0.5})
    draw(changed, tmp_path / "c.png")
    a = (tmp_path / "a.png").read_bytes()
    assert a[:8] == b"\x89PNG\r\n\x1a\n"
    assert a == (tmp_path / "b.png").read_bytes()
    assert a != (tmp_path / "c.png").read_bytes()
    assert b"Software" not in a


def test_the_wall_time_axis_is_labelled_at_the_measured_times(tmp_path, monkeypatch):
    """Times within one decade (a CPU sweep: 1 to 5 s) would get one log tick, or none."""
    figures = []
    monkeypatch.setattr(plots, "save_figure", lambda fig, path, dpi: figures.append(fig))
    steps_figure(QUALITY, TIMING.assign(seconds=[5.1, 0.99, 5.2, 1.0]), tmp_path / "s.png")
    wall = figures[0].axes[1]
    assert list(wall.get_xticks()) == [0.99, 5.1]
    formatter = wall.xaxis.get_major_formatter()
    assert [formatter(x) for x in wall.get_xticks()] == ["0.99", "5.1"]
