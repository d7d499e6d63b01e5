"""How well the one-step denoiser recovers x from z = x + sigma * eps, beside baselines.

Images are in [0, 1], so the peak signal is 1 and PSNR = 10 log10(1 / MSE). Every method sees
the same noisy digits: one draw of eps, scaled by each sigma. The non-learned baselines are

- the noisy input z itself (MSE = sigma^2 in expectation);
- z clipped to [0, 1];
- the Wiener filter, the best *linear* estimate of x from z given the mean mu and covariance
  C_x of the training digits (flattened to 784 numbers):
      x_hat = mu + W (z - mu),   W = C_x (C_x + sigma^2 I)^(-1).
  With C_x = U diag(lambda) U^T, W = U diag(lambda / (lambda + sigma^2)) U^T: one
  eigendecomposition serves every sigma.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
import torch
from torch import nn

from ..batched import apply_batched, device_of
from ..data import as_float
from ..measures import mse, psnr
from .classifier import as_input

NOISY, CLIPPED, WIENER = "noisy input", "noisy input clipped", "Wiener filter"


@dataclass(frozen=True)
class WienerFilter:
    mean: torch.Tensor  # float64 [D]
    eigvals: torch.Tensor  # float64 [D], eigenvalues of C_x, clipped at 0
    eigvecs: torch.Tensor  # float64 [D, D], columns are eigenvectors

    @classmethod
    def fit(cls, images: torch.Tensor) -> WienerFilter:
        """Mean and (unbiased) covariance of training images, any shape [N, ...], in float64."""
        x = as_float(images) if images.dtype == torch.uint8 else images
        x = x.reshape(len(x), -1).double()
        if len(x) < 2:
            raise ValueError("the Wiener filter needs at least two training images")
        mean = x.mean(dim=0)
        centred = x - mean
        cov = centred.T @ centred / (len(x) - 1)
        eigvals, eigvecs = torch.linalg.eigh(cov)
        return cls(mean, eigvals.clamp(min=0), eigvecs)

    def matrix(self, sigma: float) -> torch.Tensor:
        """W = C_x (C_x + sigma^2 I)^(-1); the identity at sigma = 0 (nothing to remove)."""
        if sigma == 0:
            return torch.eye(len(self.mean), dtype=torch.float64)
        gain = self.eigvals / (self.eigvals + sigma**2)
        return (self.eigvecs * gain) @ self.eigvecs.T

    def __call__(self, z: torch.Tensor, sigma: float) -> torch.Tensor:
        """The linear estimate of x from z = x + sigma * eps, shaped and typed like z."""
        flat = z.reshape(len(z), -1).double()
        x_hat = self.mean + (flat - self.mean) @ self.matrix(sigma)  # W is symmetric
        return x_hat.reshape(z.shape).to(z.dtype)


def denoising_table(
    denoisers: Mapping[str, nn.Module],
    clean: torch.Tensor,
    train_images: torch.Tensor,
    sigmas: Sequence[float],
    seed: int,
    batch_size: int = 1000,
) -> pd.DataFrame:
    """MSE and PSNR of each method at each sigma: columns sigma, method, mse, psnr.

    `denoisers` maps a label (e.g. "UNet, epoch 5") to a model z -> x_hat on its own device;
    `clean` are the test digits, `train_images` fit the Wiener filter.
    """
    clash = {NOISY, CLIPPED, WIENER} & set(denoisers)
    if clash:
        raise ValueError(f"denoiser labels {sorted(clash)} are taken by the baselines")
    x = as_input(clean)
    eps = torch.randn(x.shape, generator=torch.Generator().manual_seed(seed))
    wiener = WienerFilter.fit(train_images)
    rows = []
    for sigma in sigmas:
        z = x + sigma * eps
        estimates = {NOISY: z, CLIPPED: z.clamp(0, 1), WIENER: wiener(z, sigma)}
        for name, model in denoisers.items():
            model.eval()
            estimates[name] = apply_batched(model, z, device_of(model), batch_size)
        for method, x_hat in estimates.items():
            error = mse(x_hat, x)
            rows.append({"sigma": sigma, "method": method, "mse": error, "psnr": psnr(error)})
    return pd.DataFrame(rows)
