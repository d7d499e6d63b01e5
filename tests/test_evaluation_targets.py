"""The targets table: each target met or not, from known metric values."""

import math

import pandas as pd
import pytest

from diffusionlab.evaluation.targets import loss_rows, targets_table

QUALITY = pd.DataFrame({"epoch": [20, 5], "samples": [100, 100],
                        "frechet_distance": [6.0, 30.0], "floor": [2.0, 2.0], "ratio": [3.0, 15.0],
                        "class_accuracy": [0.985, 0.7]})
# two epochs of 3 steps: below 0.1 first at step 4 (the 2nd step of epoch 2); last epoch's mean 0.03
LOSSES = pd.DataFrame({"epoch": [1, 1, 1, 2, 2, 2], "step": [0, 1, 2, 0, 1, 2],
                       "loss": [0.9, 0.2, 0.11, 0.1, 0.04, -0.05]})
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
        "time-conditioned UNet: first training step with loss < 0.1",
        "time-conditioned UNet: mean training loss of the last epoch (epoch 2)",
        "class-conditioned samples (γ = 5, epoch 20): read as the requested digit",
        "class-conditioned samples (γ = 5, epoch 20): Fréchet distance / floor",
        "anagram 6 / 9 (upside down): every view read as its digit",
        "anagram 1 / 7 (upside down): every view read as its digit",
    ]
    assert table["target"].tolist() == ["≥ 0.99", "≤ 500", "0.02 – 0.04", "≥ 0.99", "≤ 5",
                                        "≥ 0.8", "≥ 0.8"]
    # the last epoch (20, not the last row), and a bound that is just reached counts as met
    assert table["reached"].tolist() == pytest.approx([0.9912, 4, 0.03, 0.985, 3.0, 0.8, 0.25])
    assert table["met"].tolist() == ["yes", "yes", "yes", "no", "yes", "yes", "no"]


def test_loss_rows_count_steps_over_the_whole_run_and_miss_when_never_below():
    late = LOSSES.assign(loss=[0.9, 0.8, 0.7, 0.6, 0.5, 0.06])  # below 0.1 at step 5 only
    first, final = loss_rows(late)
    assert (first["reached"], first["met"]) == (5, "yes")
    assert final["reached"] == pytest.approx((0.6 + 0.5 + 0.06) / 3) and final["met"] == "no"
    slow = pd.concat([LOSSES.assign(loss=0.5)] * 100, ignore_index=True)  # 600 steps, never
    first, _ = loss_rows(slow)
    assert math.isnan(first["reached"]) and first["met"] == "no"
    past_bound = pd.DataFrame({"epoch": 1, "step": range(600), "loss": [0.5] * 501 + [0.05] * 99})
    assert loss_rows(past_bound)[0]["met"] == "no"  # first below at step 501 > 500


def test_without_part_a_on_mnist_there_are_no_anagram_rows():
    table = targets_table(0.95, LOSSES, QUALITY, 3.0)
    assert len(table) == 5 and table["met"].tolist() == ["no", "yes", "yes", "no", "yes"]
