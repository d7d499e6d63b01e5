"""The targets table: each target met or not, from known metric values."""

import pandas as pd

from diffusionlab.evaluation.targets import targets_table

QUALITY = pd.DataFrame({"epoch": [20, 5], "samples": [100, 100],
                        "frechet_distance": [6.0, 30.0], "floor": [2.0, 2.0], "ratio": [3.0, 15.0],
                        "class_accuracy": [0.985, 0.7]})
ILLUSIONS = pd.DataFrame({
    "item": ["anagram_0", "anagram_1", "view_0", "hybrid_0"],
    "kind": ["anagram", "anagram", "anagram", "hybrid"],
    "digits": ["6 / 9", "1 / 7", "3 / 5", "0 / 1"],
    "views": ["identity / flip", "identity / flip", "identity / rotate_cw",
              "far (low-pass) / near (full image)"],
    "success_rate": [0.8, 0.25, 1.0, 1.0],
})


def test_targets_from_known_values():
    table = targets_table(0.9912, QUALITY, 5.0, ILLUSIONS)
    assert list(table.columns) == ["metric", "target", "reached", "met"]
    assert table["metric"].tolist() == [
        "classifier: test accuracy",
        "class-conditioned samples (γ = 5, epoch 20): read as the requested digit",
        "class-conditioned samples (γ = 5, epoch 20): Fréchet distance / floor",
        "anagram 6 / 9 (upside down): every view read as its digit",
        "anagram 1 / 7 (upside down): every view read as its digit",
    ]
    assert table["target"].tolist() == ["≥ 0.99", "≥ 0.99", "≤ 5", "≥ 0.8", "≥ 0.8"]
    # the last epoch (20, not the last row), and a bound that is just reached counts as met
    assert table["reached"].tolist() == [0.9912, 0.985, 3.0, 0.8, 0.25]
    assert table["met"].tolist() == ["yes", "no", "yes", "yes", "no"]


def test_without_part_a_on_mnist_there_are_no_anagram_rows():
    table = targets_table(0.95, QUALITY, 3.0)
    assert len(table) == 3 and table["met"].tolist() == ["no", "no", "yes"]
