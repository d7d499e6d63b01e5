"""Frechet distance: zero for a set with itself, growing with noise, closed forms."""

import numpy as np
import pytest
import scipy.linalg

from diffusionlab.evaluation.frechet import (
    feature_frechet_distance,
    frechet_distance,
    gaussian_fit,
    trace_sqrt_product,
)


def random_features(n=400, f=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, f)) @ rng.normal(size=(f, f)) + rng.normal(size=f)


def test_distance_of_a_set_with_itself_is_zero():
    a = random_features()
    assert feature_frechet_distance(a, a) == pytest.approx(0, abs=1e-9)


def test_distance_grows_monotonically_with_added_noise():
    a = random_features()
    noise = np.random.default_rng(1).normal(size=a.shape)
    d = [feature_frechet_distance(a, a + s * noise) for s in (0.0, 0.1, 0.3, 1.0, 3.0)]
    assert d[0] == pytest.approx(0, abs=1e-9)
    assert all(lo < hi for lo, hi in zip(d, d[1:], strict=False)), d


def test_diagonal_gaussians_match_the_closed_form():
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([0.5, 1.0, 1.0])
    s1, s2 = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(s1 + s2 - 2 * np.sqrt(s1 * s2))
    assert expected == pytest.approx(0.25 + 9 + 4 + 1)
    assert frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(expected, 1e-12)
    # the same Gaussians in a rotated basis: the distance is invariant
    q, _ = np.linalg.qr(np.random.default_rng(2).normal(size=(3, 3)))
    rotated = frechet_distance(q @ mu1, q @ np.diag(s1) @ q.T, q @ mu2, q @ np.diag(s2) @ q.T)
    assert rotated == pytest.approx(expected, rel=1e-10)


def test_general_covariances_match_scipy_sqrtm():
    s1 = np.cov(random_features(seed=3), rowvar=False)
    s2 = np.cov(random_features(seed=4), rowvar=False)
    reference = np.trace(scipy.linalg.sqrtm(s1 @ s2)).real
    assert trace_sqrt_product(s1, s2) == pytest.approx(reference, rel=1e-8)


def test_gaussian_fit_and_sampled_distance():
    rng = np.random.default_rng(5)
    a = rng.normal(0.0, 1.0, size=(20000, 2))
    b = rng.normal(1.0, 2.0, size=(20000, 2))
    mu, cov = gaussian_fit(a)
    assert mu.shape == (2,) and cov.shape == (2, 2)
    # exact: 2 * 1^2 (means) + 2 * (1 - 2)^2 (standard deviations) = 4
    assert feature_frechet_distance(a, b) == pytest.approx(4.0, rel=0.03)
    with pytest.raises(ValueError):
        gaussian_fit(a[:1])
