"""Views of the visual anagrams and the frequency filters of the hybrid images."""

import pytest
import torch

from diffusionlab.part_a.filters import frequency_bands, highpass, lowpass
from diffusionlab.part_a.views import VIEWS, PatchPermute, Skew, get_view

GRID = torch.arange(16.0).reshape(1, 1, 4, 4)  # rows 0..3, 4..7, 8..11, 12..15


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_inverse_view_undoes_view_exactly(name):
    view = get_view(name)
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    assert torch.equal(view.inverse_view(view.view(x)), x)
    assert torch.equal(view.view(view.inverse_view(x)), x)
    # A permutation of pixels with a possible sign: the noise statistics are unchanged.
    assert torch.equal(view.view(x).abs().flatten().sort().values, x.abs().flatten().sort().values)


def test_views_move_pixels_as_named():
    assert get_view("flip").view(GRID)[0, 0, 0].tolist() == [12, 13, 14, 15]
    # Clockwise: the left column, read bottom to top, becomes the top row.
    assert get_view("rotate_cw").view(GRID)[0, 0, 0].tolist() == [12, 8, 4, 0]
    assert get_view("rotate_ccw").view(GRID)[0, 0, 0].tolist() == [3, 7, 11, 15]
    assert get_view("rotate_180").view(GRID)[0, 0, 0].tolist() == [15, 14, 13, 12]
    assert torch.equal(get_view("negate").view(GRID), -GRID)
    assert torch.equal(get_view("negate").inverse_layout(GRID), GRID)
    assert torch.equal(get_view("identity").view(GRID), GRID)


def test_skew_rolls_each_column_by_its_shift():
    skewed = Skew(factor=1.0).view(GRID)[0, 0]
    # Shifts round(j - 2) = -2, -1, 0, 1: column 2 stays, column 3 moves down by one.
    assert skewed[:, 2].tolist() == [2, 6, 10, 14]
    assert skewed[:, 3].tolist() == [15, 3, 7, 11]
    assert skewed[:, 0].tolist() == [8, 12, 0, 4]


def test_patch_permutation_is_deterministic_and_moves_whole_patches():
    a, b = PatchPermute(grid=2, seed=3), PatchPermute(grid=2, seed=3)
    assert torch.equal(a.order, b.order)
    out = a.view(GRID)[0, 0]
    patches = {tuple(GRID[0, 0, r:r + 2, c:c + 2].flatten().tolist())
               for r in (0, 2) for c in (0, 2)}
    moved = [tuple(out[r:r + 2, c:c + 2].flatten().tolist()) for r in (0, 2) for c in (0, 2)]
    assert set(moved) == patches
    first = int(a.order[0])
    assert moved[0] == tuple(GRID[0, 0, 2 * (first // 2):2 * (first // 2) + 2,
                                  2 * (first % 2):2 * (first % 2) + 2].flatten().tolist())
    with pytest.raises(ValueError, match="patches"):
        PatchPermute(grid=3).view(GRID)


def test_unknown_view_names_the_known_ones():
    with pytest.raises(ValueError, match="flip"):
        get_view("mirror")


def test_lowpass_keeps_constants_and_highpass_complements_it():
    const = torch.full((1, 3, 16, 16), 0.25)
    assert torch.allclose(lowpass(const, 5, 1.0), const, atol=1e-7)
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(lowpass(x, 9, 2.0) + highpass(x, 9, 2.0), x, atol=1e-6)
    # Blurring lowers the variance of white noise.
    assert lowpass(x, 9, 2.0).std() < 0.5 * x.std()


@pytest.mark.parametrize(("shape", "kernel_size", "sigma"), [
    ((2, 3, 16, 16), 5, 1.0), ((1, 1, 28, 28), 9, 1.5), ((1, 3, 64, 64), 33, 2.0),
    ((4, 28, 28), 7, None), ((1, 1, 28, 28), 33, 4.0),
])
def test_lowpass_is_torchvisions_gaussian_blur(shape, kernel_size, sigma):
    from torchvision.transforms.functional import gaussian_blur

    x = torch.rand(shape, generator=torch.Generator().manual_seed(3))
    expected = gaussian_blur(x, [kernel_size] * 2, None if sigma is None else [sigma] * 2)
    torch.testing.assert_close(lowpass(x, kernel_size, sigma), expected, atol=1e-6, rtol=0)


def test_frequency_bands_sum_to_the_input():
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    low, high = frequency_bands(x, [9], [2.0])
    assert torch.allclose(low, lowpass(x, 9, 2.0)) and torch.allclose(high, highpass(x, 9, 2.0))
    bands = frequency_bands(x, [17, 5], [4.0, 1.0])
    assert len(bands) == 3
    assert torch.allclose(sum(bands), x, atol=1e-6)
    # The low band is the smoothest: its pixel-to-pixel differences are the smallest.
    roughness = [b.diff(dim=-1).abs().mean().item() for b in bands]
    assert roughness[0] < roughness[1] < roughness[2]
    with pytest.raises(ValueError, match="widest"):
        frequency_bands(x, [5, 17], [1.0, 4.0])


def test_a_blur_wider_than_the_image_is_a_clear_error():
    with pytest.raises(ValueError, match="33-pixel blur needs images larger than 16 pixels"):
        lowpass(torch.zeros(1, 3, 16, 16), 33, 2.0)
