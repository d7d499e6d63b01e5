"""The targets table: each target met or not, from known metric values."""

import math

import pandas as pd
import pytest

from diffusionlab.evaluation.targets import loss_rows, targets_table

QUALITY = pd.DataFrame({"epoch": [20, 5], "samples": [100, 100],
                        "frechet_distance": [6.0, 30.0], "floor": [2.0, 2.0], "ratio": [3.0, 15.0],
                        "class_accuracy": [0.985, 0.7]})


def losses(values, steps_per_epoch: int = 40) -> pd.DataFrame:
    """A losses.csv of the given per-step losses."""
    n = len(values)
    return pd.DataFrame({"epoch": [1 + i // steps_per_epoch for i in range(n)],
                         "step": [i % steps_per_epoch for i in range(n)], "loss": values})


# 3 epochs of 40 steps: 0.5 for 30 steps, then 0.02 (the 50-step mean first < 0.1 at step 71:
# (9 * 0.5 + 41 * 0.02) / 50 = 0.1064, then (8 * 0.5 + 42 * 0.02) / 50 = 0.0968);
# the last epoch's mean 0.02
LOSSES = losses([0.5] * 30 + [0.02] * 90)
ILLUSIONS = pd.DataFrame({
    "item": ["anagram_0", "anagram_1", "view_0", "hybrid_0"],
    "kind": ["anagram", "anagram", "anagram", "hybrid"],
    "digits": ["6 / 9", "1 / 7", "3 / 5", "0 / 1"],
    "views": ["identity / flip", "identity / flip", "identity / rotate_cw",
              "far (low-pass) / near (full image)"],
    "success_rate": [0.8, 0.25, 1.0, 1.0],
})


def test_targets_from_known_values():
    table = targets_table(0.9912, LOSSES, QUALITY, 5.0, ILLUSIONS)
    assert list(table.columns) == ["metric", "target", "reached", "met"]
    assert table["metric"].tolist() == [
        "classifier: test accuracy",
        "time-conditioned UNet: first training step whose last 50 losses average < 0.1",
        "time-conditioned UNet: mean training loss of the last epoch (epoch 3)",
        "class-conditioned samples (γ = 5, epoch 20): read as the requested digit",
        "class-conditioned samples (γ = 5, epoch 20): Fréchet distance / floor",
        "anagram 6 / 9 (upside down): every view read as its digit",
        "anagram 1 / 7 (upside down): every view read as its digit",
    ]
    assert table["target"].tolist() == ["≥ 0.99", "≤ 500", "0.02 – 0.04", "≥ 0.99", "≤ 5",
                                        "≥ 0.8", "≥ 0.8"]
    # the last epoch (20, not the last row), and a bound that is just reached counts as met
    assert table["reached"].tolist() == pytest.approx([0.9912, 71, 0.02, 0.985, 3.0, 0.8, 0.25])
    assert table["met"].tolist() == ["yes", "yes", "yes", "no", "yes", "yes", "no"]


def test_loss_rows_smooth_over_50_steps_and_miss_when_never_below():
    spike = losses([0.5] * 60 + [0.01] + [0.5] * 59)  # one lucky batch is not "below 0.1"
    first, final = loss_rows(spike)
    assert math.isnan(first["reached"]) and first["met"] == "no"
    assert final["reached"] == pytest.approx(0.5) and final["met"] == "no"
    short = losses([0.01] * 49)  # fewer steps than the window: nothing to read
    assert math.isnan(loss_rows(short)[0]["reached"])
    late = losses([0.5] * 480 + [0.02] * 120)  # the mean falls below 0.1 at step 521 > 500
    first, final = loss_rows(late)
    assert (first["reached"], first["met"]) == (521, "no")
    assert final["reached"] == pytest.approx(0.02) and final["met"] == "yes"


def test_without_part_a_on_mnist_there_are_no_anagram_rows():
    table = targets_table(0.95, LOSSES, QUALITY, 3.0)
    assert len(table) == 5 and table["met"].tolist() == ["no", "yes", "yes", "no", "yes"]
