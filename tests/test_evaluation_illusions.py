"""Illusion metrics with a classifier whose answers are known: it reads the top-left pixel."""

import pytest
import torch
from torch import nn

from diffusionlab.evaluation.illusions import (
    hybrid_scores,
    illusion_scores,
    illusion_summary,
    per_sample,
    real_hybrids,
    sdedit_class_retention,
)


class TopLeftReader(nn.Module):
    """Classifies an image as round(9 * x[0, 0]): a digit written into one pixel."""

    def __init__(self):
        super().__init__()
        self.sharpness = nn.Parameter(torch.tensor(30.0))

    def forward(self, x):
        digits = torch.arange(10, dtype=x.dtype)
        return -self.sharpness * (9 * x[:, 0, 0, :1] - digits).abs()


class UpsideDown:
    """A view object as part A writes them."""

    name = "flip"

    def view(self, x):
        return x.flip(-2)

    def inverse_view(self, x):
        return x.flip(-2)


def image(top: int, bottom: int) -> torch.Tensor:
    x = torch.zeros(1, 28, 28)
    x[0, 0, 0], x[0, -1, 0] = top / 9, bottom / 9
    return x


READER = TopLeftReader()


def test_anagrams_that_work_and_one_that_does_not():
    images = torch.stack([image(6, 9), image(1, 4), image(6, 6)])
    scores = illusion_scores(READER, images, [lambda x: x, UpsideDown()], [6, 9],
                             ["upright", "upside down"])
    assert len(scores) == 6
    s = per_sample(scores).set_index("sample")
    assert s.loc[0, "alignment"] == pytest.approx(1, abs=1e-6)
    assert s.loc[0, "concealment"] == pytest.approx(1, abs=1e-6) and s.loc[0, "success"]
    # sample 1 shows 1 and 4: neither target, in either view
    assert s.loc[1, "alignment"] < 1e-6 and not s.loc[1, "success"]
    # sample 2 shows 6 both ways: the flipped view shows the other view's digit
    assert s.loc[2, "alignment"] < 1e-6
    assert s.loc[2, "concealment"] == pytest.approx(-1, abs=1e-6)
    summary = illusion_summary(scores)
    assert summary["samples"] == 3 and summary["success_rate"] == pytest.approx(1 / 3)
    assert summary["p_target[upright]"] == pytest.approx(2 / 3, abs=1e-6)


def test_per_sample_targets():
    images = torch.stack([image(2, 5), image(3, 8)])
    scores = illusion_scores(READER, images, [lambda x: x, UpsideDown()],
                             [torch.tensor([2, 3]), torch.tensor([5, 8])])
    assert scores["correct"].all()
    assert scores["view"].unique().tolist() == ["view 0", "flip"]
    with pytest.raises(ValueError, match="one per sample"):
        illusion_scores(READER, images, [lambda x: x, UpsideDown()], [torch.tensor([2]), 5])


def test_hybrid_views_are_far_then_near():
    far_view = UpsideDown().view  # stands in for the low-pass: what is seen from afar
    scores = hybrid_scores(READER, torch.stack([image(7, 1)]), far_view, far_target=1,
                           near_target=7)
    assert scores["view"].tolist() == ["far (low-pass)", "near (full image)"]
    assert scores["correct"].all()


def test_real_hybrids_take_the_low_band_of_far_and_the_rest_of_near():
    def top_row(x):  # stands in for the low-pass: the band it keeps
        return x * (torch.arange(28) == 0).to(x.dtype)[:, None]

    far, near = torch.stack([image(3, 2)]), torch.stack([image(5, 8)])
    hybrid = real_hybrids(top_row, far, near)
    assert hybrid[0, 0, 0, 0] == pytest.approx(3 / 9)  # far's low band
    assert hybrid[0, 0, -1, 0] == pytest.approx(8 / 9)  # near's high band
    # When the low band holds what the judge reads, the full hybrid reads as the far digit:
    scores = hybrid_scores(READER, hybrid, top_row, far_target=3, near_target=5)
    assert scores["predicted"].tolist() == [3, 3] and not per_sample(scores)["success"].any()
    assert real_hybrids(top_row, far * 3, near).max() <= 1  # clipped as shown


def test_sdedit_class_retention_grows_with_i_start():
    labels = torch.tensor([3, 5])
    edits = {10: torch.stack([image(3, 0), image(5, 0)]), 1: torch.stack([image(0, 0)] * 2),
             5: torch.stack([image(3, 0), image(4, 0)])}
    table = sdedit_class_retention(READER, edits, labels)
    assert table["i_start"].tolist() == [1, 5, 10]
    assert table["kept_class"].tolist() == [0.0, 0.5, 1.0]
    assert table["p_source"].iloc[-1] == pytest.approx(1, abs=1e-6)
    with pytest.raises(ValueError, match="sources"):
        sdedit_class_retention(READER, {1: image(3, 0)[None]}, labels)
