"""Denoiser metrics and the non-learned baselines, above all the Wiener filter."""

import math

import pytest
import torch
from torch import nn

from diffusionlab.data import load_mnist
from diffusionlab.evaluation.denoising import (
    CLIPPED,
    NOISY,
    WIENER,
    WienerFilter,
    denoising_table,
    mse,
    psnr,
)

SIGMAS = [0.0, 0.2, 0.5, 1.0]


@pytest.fixture(scope="module")
def mnist():
    return load_mnist("folder", "/work/shared/datasets/mnist-5k", train_size=1000, test_size=200)


class Clamp(nn.Module):
    """A 'denoiser' that only clips: it must score exactly like the clipped baseline."""

    def __init__(self):
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))

    def forward(self, z):
        return z.clamp(0, 1)


@pytest.fixture(scope="module")
def table(mnist):
    return denoising_table({"clamp": Clamp()}, mnist.test_images, mnist.train_images, SIGMAS, 0)


def test_psnr_of_known_errors():
    assert psnr(0.01) == pytest.approx(20.0) and psnr(1.0) == 0.0 and psnr(0.0) == math.inf
    assert mse(torch.zeros(2, 3), torch.full((2, 3), 0.5)) == pytest.approx(0.25)


def test_noisy_input_has_mse_sigma_squared(table):
    noisy = table[table["method"] == NOISY].set_index("sigma")
    for sigma in SIGMAS:  # 200 digits: 156,800 pixels, relative error ~0.4%
        assert noisy.loc[sigma, "mse"] == pytest.approx(sigma**2, rel=0.02, abs=1e-12)
        assert noisy.loc[sigma, "psnr"] == pytest.approx(psnr(noisy.loc[sigma, "mse"]))


def test_wiener_filter_beats_the_noisy_and_clipped_inputs(table):
    by = table.set_index(["sigma", "method"])["mse"]
    for sigma in SIGMAS[1:]:
        assert by[sigma, WIENER] < by[sigma, CLIPPED] < by[sigma, NOISY]
    assert by[0.0, WIENER] == 0.0  # nothing to remove
    assert by[0.5, WIENER] < 0.25 * by[0.5, NOISY]


def test_table_lists_every_method_at_every_sigma_and_denoisers_run(table):
    assert list(table.columns) == ["sigma", "method", "mse", "psnr"]
    assert len(table) == 4 * len(SIGMAS)
    by = table.set_index(["sigma", "method"])["mse"]
    for sigma in SIGMAS:
        assert by[sigma, "clamp"] == by[sigma, CLIPPED]


def test_wiener_matrix_is_the_textbook_formula():
    g = torch.Generator().manual_seed(0)
    mixing = torch.randn(6, 6, generator=g, dtype=torch.float64)
    x = torch.randn(50, 6, generator=g, dtype=torch.float64) @ mixing
    w = WienerFilter.fit(x)
    cov = torch.cov(x.T)
    expected = cov @ torch.linalg.inv(cov + 0.3**2 * torch.eye(6, dtype=torch.float64))
    torch.testing.assert_close(w.matrix(0.3), expected, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(w.mean, x.mean(0))
    assert torch.equal(w.matrix(0.0), torch.eye(6, dtype=torch.float64))


def test_wiener_filter_reaches_the_optimal_error_on_gaussian_data():
    g = torch.Generator().manual_seed(0)
    scale = torch.tensor([1.0, 0.5, 0.1, 0.0], dtype=torch.float64)
    data = torch.randn(20000, 4, generator=g, dtype=torch.float64) * scale + 0.3
    sigma = 0.5
    w = WienerFilter.fit(data[:10000])
    clean = data[10000:]
    z = clean + sigma * torch.randn(clean.shape, generator=g, dtype=torch.float64)
    var = scale**2  # optimal per-coordinate error: v s^2 / (v + s^2)
    optimal = (var * sigma**2 / (var + sigma**2)).mean().item()
    assert mse(w(z, sigma), clean) == pytest.approx(optimal, rel=0.05)


def test_baseline_names_are_reserved(mnist):
    with pytest.raises(ValueError, match="taken"):
        denoising_table({WIENER: Clamp()}, mnist.test_images, mnist.train_images, [0.5], 0)
