"""The Frechet distance between two feature sets, each summarised by a Gaussian fit.

    d^2 = ||mu_1 - mu_2||^2 + tr(S_1) + tr(S_2) - 2 tr((S_1 S_2)^(1/2))

S_1 S_2 is not symmetric, and a general matrix square root (scipy.linalg.sqrtm) returns tiny
imaginary parts from rounding. Here tr((S_1 S_2)^(1/2)) is computed in the symmetric form
tr((S_1^(1/2) S_2 S_1^(1/2))^(1/2)): S_1 S_2 is similar to S_1^(1/2) S_2 S_1^(1/2), a symmetric
positive semi-definite matrix, so both have the same real, non-negative eigenvalues. Two
symmetric eigendecompositions in float64 give the trace with no imaginary part to discard.
"""

from __future__ import annotations

import numpy as np
import torch


def gaussian_fit(features: torch.Tensor | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean [F] and unbiased covariance [F, F] of features [N, F], in float64."""
    x = np.asarray(features.cpu() if isinstance(features, torch.Tensor) else features, np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"need features of shape [N >= 2, F], not {list(x.shape)}")
    return x.mean(axis=0), np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])


def psd_sqrt(sigma: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite matrix."""
    eigvals, eigvecs = np.linalg.eigh((sigma + sigma.T) / 2)
    return (eigvecs * np.sqrt(eigvals.clip(min=0))) @ eigvecs.T


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """tr((S_1 S_2)^(1/2)) for symmetric positive semi-definite S_1, S_2."""
    root1 = psd_sqrt(np.asarray(sigma1, np.float64))
    m = root1 @ np.asarray(sigma2, np.float64) @ root1
    return float(np.sqrt(np.linalg.eigvalsh((m + m.T) / 2).clip(min=0)).sum())


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray
) -> float:
    """Squared Frechet (2-Wasserstein) distance between N(mu1, sigma1) and N(mu2, sigma2).

    Rounding can leave a value of about -1e-12 for identical inputs; it is reported as 0.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError("the two Gaussians must have the same dimension")
    d = (
        np.sum((mu1 - mu2) ** 2)
        + np.trace(sigma1)
        + np.trace(sigma2)
        - 2 * trace_sqrt_product(sigma1, sigma2)
    )
    return max(float(d), 0.0)


def feature_frechet_distance(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray) -> float:
    """Frechet distance between the Gaussian fits of two feature sets [N, F] and [M, F]."""
    return frechet_distance(*gaussian_fit(a), *gaussian_fit(b))
