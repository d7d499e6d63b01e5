"""The targets table: each target met or not, from constructed judge readings and metric values."""

import math

import pandas as pd
import pytest

from diffusionlab.evaluation.targets import loss_rows, targets_table
from diffusionlab.jobrunner import UserError

CLASSIFIER = {"test_accuracy": 0.9912, "test_digits": 1000, "train_digits": 4000}
TIME_DRAWN = {"epoch": 10, "samples": 520, "batch_size": 40, "batches": 13,
              "first_batch_is_figure": True, "seed": 0,
              "sampler": "ancestral DDPM", "steps": 300, "guidance": None, "precision": "bf16",
              "frechet_distance": 9.0, "floor": 3.0}
CLASS_DRAWN = {**TIME_DRAWN, "epoch": 30, "guidance": 5.0, "precision": "fp32",
               "batch_size": 520, "batches": 1, "first_batch_is_figure": False,
               "frechet_distance": 12.0, "floor": 3.0}


def losses(values, steps_per_epoch: int = 40) -> pd.DataFrame:
    """A losses.csv of the given per-step losses."""
    n = len(values)
    return pd.DataFrame({"epoch": [1 + i // steps_per_epoch for i in range(n)],
                         "step": [i % steps_per_epoch for i in range(n)], "loss": values})


def time_readings(confidences, predicted=None) -> pd.DataFrame:
    """Judge readings of unconditional samples: digits 0-9 in turn unless given."""
    n = len(confidences)
    predicted = [i % 10 for i in range(n)] if predicted is None else predicted
    return pd.DataFrame({"sample": range(n), "batch": [i // 40 for i in range(n)],
                         "predicted": predicted, "confidence": confidences})


def class_readings(per_digit: int, wrong: dict | None = None) -> pd.DataFrame:
    """Judge readings of per_digit samples of each digit, the first wrong[d] of digit d read as
    another digit."""
    wrong = wrong or {}
    rows = []
    for d in range(10):
        for k in range(per_digit):
            rows.append({"requested": d, "predicted": (d + 1) % 10 if k < wrong.get(d, 0) else d})
    table = pd.DataFrame(rows)
    return table.assign(sample=range(len(table)), confidence=0.95, p_requested=0.9)


# 3 epochs of 40 steps: 0.5 for 30 steps, then 0.02 (the 50-step mean first < 0.1 at step 71:
# (9 * 0.5 + 41 * 0.02) / 50 = 0.1064, then (8 * 0.5 + 42 * 0.02) / 50 = 0.0968);
# the last epoch's mean 0.02
LOSSES = losses([0.5] * 30 + [0.02] * 90)
# 442 of 520 read with confidence >= 0.9 (0.85: just met), every digit among them
TIME = time_readings([0.95] * 442 + [0.5] * 78)
# 52 per digit, 10 of the 520 misread (0.981: met), digit 8 the worst (6 of 52)
CLASS = class_readings(52, {8: 6, 9: 4})
ILLUSIONS = pd.DataFrame({
    "item": ["anagram_0", "anagram_1", "anagram_2", "view_0", "hybrid_0", "hybrid_1"],
    "kind": ["anagram", "anagram", "anagram", "anagram", "hybrid", "hybrid"],
    "figure": [f"results/part_a/mnist/{s}.png" for s in
               ("anagram_0", "anagram_1", "anagram_2", "view_0", "hybrid_0", "hybrid_1")],
    "digits": ["6 / 9", "1 / 7", "0 / 8", "3 / 5", "0 / 1", "8 / 3"],
    "views": ["identity / rotate_180", "identity / flip", "identity / rotate_180",
              "identity / rotate_cw"]
    + ["far (low-pass) / near (full image)"] * 2,
    "samples": [50, 50, 50, 50, 64, 50],
    "success_rate": [0.8, 0.25, 0.5, 1.0, 0.9, 0.78],
    "ceiling": [None, None, None, None, 0.95, 0.4],
})


def table(**changes) -> pd.DataFrame:
    args = {"classifier": CLASSIFIER, "time_losses": LOSSES, "time_samples": TIME,
            "time_drawn": TIME_DRAWN, "class_samples": CLASS, "class_drawn": CLASS_DRAWN,
            "illusions": ILLUSIONS, **changes}
    return targets_table(**args)


def test_targets_from_known_values():
    result = table()
    assert list(result.columns) == ["metric", "target", "reached", "met", "samples", "drawn",
                                    "note"]
    assert result["metric"].tolist() == [
        "classifier: test accuracy",
        "time-conditioned UNet: first training step whose last 50 losses average < 0.1",
        "time-conditioned UNet: mean training loss of the last epoch (epoch 3)",
        "time-conditioned UNet, epoch 10: samples read with confidence ≥ 0.9",
        "time-conditioned UNet, epoch 10: digits read with confidence ≥ 0.9 at least once",
        "class-conditioned UNet (γ = 5), epoch 30: samples read as the requested digit",
        "class-conditioned UNet (γ = 5), epoch 30: Fréchet distance / floor",
        "anagram 6 / 9 (turned upside down): every view read as its digit",
        "anagram 1 / 7 (flipped upside down): every view read as its digit",
        "hybrid 0 / 1 (far / near): every view read as its digit",
        "hybrid 8 / 3 (far / near): every view read as its digit",
    ]
    assert result["target"].tolist() == ["≥ 0.99", "≤ 500", "0.02 – 0.04", "≥ 0.85", "all 10",
                                         "≥ 0.98", "≤ 5", "≥ 0.8", "≥ 0.8", "≥ 0.8", "≥ 0.8"]
    # bounds just reached count as met
    assert result["reached"].tolist() == pytest.approx(
        [0.9912, 71, 0.02, 0.85, 10, 510 / 520, 4.0, 0.8, 0.25, 0.9, 0.78])
    assert result["met"].tolist() == ["yes", "yes", "yes", "yes", "yes", "yes", "yes", "yes",
                                      "no", "yes", "no"]
    assert result["samples"].tolist() == [1000, 120, 40, 520, 520, 520, 520, 50, 50, 64, 50]
    assert result["drawn"][3] == ("ancestral DDPM, all 300 steps, bf16; 13 batches of 40 from "
                                  "seed 0 (the first is the figure's grid)")
    assert result["drawn"][5] == "ancestral DDPM, all 300 steps, γ = 5, fp32; 1 batch of 520 " \
        "from seed 0"
    assert result["drawn"][7] == ("part A's sampler of results/part_a/mnist/anagram_0.png, its "
                                  "settings and seed")
    assert result["note"][0] == "trained on all 4,000 training digits"
    assert result["note"][4] == "rarest: 2 (44 samples)"  # 442 confident: 0 and 1 get 45
    assert result["note"][5] == "worst: 8 (0.88)"


def test_just_below_each_bound_is_not_met():
    result = table(time_samples=time_readings([0.95] * 441 + [0.899] * 79),
                   class_samples=class_readings(52, {8: 6, 9: 5}),
                   class_drawn={**CLASS_DRAWN, "frechet_distance": 15.01})
    assert result["reached"][3:7].tolist() == pytest.approx([441 / 520, 10, 509 / 520, 5.0033],
                                                              abs=1e-4)
    assert result["met"][3:7].tolist() == ["no", "yes", "no", "no"]


def test_a_missing_digit_is_flagged():
    # digit 4 is read, but never with confidence >= 0.9; digit 7 never at all
    predicted = [8 if i % 10 == 7 else i % 10 for i in range(520)]
    confidence = [0.5 if p == 4 else 0.99 for p in predicted]
    result = table(time_samples=time_readings(confidence, predicted))
    row = result.iloc[4]
    assert (row["reached"], row["met"], row["note"]) == (8, "no", "missing: 4, 7")
    assert result["reached"][3] == pytest.approx(468 / 520) and result["met"][3] == "yes"


def test_too_few_samples_are_rejected_with_the_key_to_raise():
    with pytest.raises(UserError, match=r"at least 500 samples of the time-conditioned UNet, not "
                       r"499: set evaluation\.targets\.samples_per_digit to at least 50"):
        table(time_samples=TIME.iloc[:499])
    short = CLASS[(CLASS["requested"] != 3) | (CLASS["sample"] < 3 * 52 + 49)]
    with pytest.raises(UserError, match=r"at least 50 samples of each digit from the "
                       r"class-conditioned UNet \(digit 3\), not 49"):
        table(class_samples=short)
    with pytest.raises(UserError, match=r"\(digit 9\), not 0"):
        table(class_samples=CLASS[CLASS["requested"] != 9])
    few = ILLUSIONS.assign(samples=[50, 16, 50, 50, 64, 50])
    with pytest.raises(UserError, match=r"at least 50 samples of the anagram 1 / 7, not 16: set "
                       r"evaluation\.illusions\.samples to at least 50"):
        table(illusions=few)
    # an illusion without a target may have fewer
    assert len(table(illusions=ILLUSIONS.assign(samples=[50, 50, 8, 8, 64, 50]))) == 11


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
    assert (first["samples"], final["samples"]) == (600, 40)


def test_without_part_a_on_mnist_there_are_no_illusion_rows():
    result = table(illusions=None)
    assert len(result) == 7 and not result["metric"].str.contains("anagram|hybrid").any()


def test_hybrid_rows_name_their_ceiling():
    notes = table().set_index("metric")["note"]
    assert notes["hybrid 8 / 3 (far / near): every view read as its digit"] == (
        "ceiling 0.40: hybrids of real test digits, the same blur")
    assert notes["anagram 1 / 7 (flipped upside down): every view read as its digit"] == ""
    older = table(illusions=ILLUSIONS.drop(columns="ceiling")).set_index("metric")["note"]
    assert older["hybrid 0 / 1 (far / near): every view read as its digit"] == ""
