"""Noise estimators: what the denoising loop asks for at each step.

An estimator maps (x_t, t) to (eps_hat, predicted variance or None). The conditional and
unconditional passes of classifier-free guidance, and every prompt of an anagram or a hybrid,
go through the backend as one batch: a single forward call per denoising step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from .backend import DenoiserBackend
from .views import View

Prediction = tuple[torch.Tensor, torch.Tensor | None]
Estimator = Callable[[torch.Tensor, int], Prediction]
Bands = Callable[[torch.Tensor], Sequence[torch.Tensor]]


def _per_image(embedding: torch.Tensor, batch: int) -> torch.Tensor:
    """A prompt's embedding repeated for every image of the batch (if given once)."""
    return embedding.expand(batch, *embedding.shape[1:]) if embedding.shape[0] == 1 else embedding


def _mean(tensors: Sequence[torch.Tensor | None]) -> torch.Tensor | None:
    return None if tensors[0] is None else torch.stack(list(tensors)).mean(0)


def guided_predictions(
    backend: DenoiserBackend,
    inputs: Sequence[torch.Tensor],
    conds: Sequence[torch.Tensor],
    t: int,
    uncond: torch.Tensor | None = None,
    gamma: float = 1.0,
) -> list[Prediction]:
    """eps_u + gamma (eps_c - eps_u) for each pair (inputs[i], conds[i]), in one forward call.

    Without `uncond` the conditional estimates come back unguided. The variance is the
    conditional pass's, as in diffusers' IF pipeline.
    """
    n, batch = len(inputs), inputs[0].shape[0]
    embeddings = [_per_image(c, batch) for c in conds]
    xs = list(inputs)
    if uncond is not None:
        xs += xs
        embeddings += [_per_image(uncond, batch)] * n
    eps, variance = backend.predict(torch.cat(xs), t, torch.cat(embeddings))
    eps = eps.split(batch)
    variances = [None] * n if variance is None else list(variance.split(batch)[:n])
    if uncond is None:
        return list(zip(eps, variances, strict=True))
    return [
        (e_u + gamma * (e_c - e_u), v)
        for e_c, e_u, v in zip(eps[:n], eps[n:], variances, strict=True)
    ]


def guided(
    backend: DenoiserBackend,
    cond: torch.Tensor,
    uncond: torch.Tensor | None = None,
    gamma: float = 1.0,
) -> Estimator:
    """One prompt: plain conditional estimates, or classifier-free guidance with `uncond`."""

    def estimate(x: torch.Tensor, t: int) -> Prediction:
        return guided_predictions(backend, [x], [cond], t, uncond, gamma)[0]

    return estimate


def anagram(
    backend: DenoiserBackend,
    conds: Sequence[torch.Tensor],
    views: Sequence[View],
    uncond: torch.Tensor | None = None,
    gamma: float = 1.0,
) -> Estimator:
    """Visual anagrams: eps = mean_i inverse_view_i(eps(view_i(x_t), prompt_i)).

    With views (identity, flip) this is (eps_1 + flip(eps_2(flip(x_t)))) / 2. Predicted
    variances are per-pixel statistics: they follow the pixels' moves but not a view's sign.
    """
    if len(conds) != len(views):
        raise ValueError(f"{len(conds)} prompts but {len(views)} views")

    def estimate(x: torch.Tensor, t: int) -> Prediction:
        preds = guided_predictions(backend, [v.view(x) for v in views], conds, t, uncond, gamma)
        pairs = list(zip(views, preds, strict=True))
        eps = _mean([v.inverse_view(e) for v, (e, _) in pairs])
        variance = _mean([None if s is None else v.inverse_layout(s) for v, (_, s) in pairs])
        return eps, variance

    return estimate


def factorized(
    backend: DenoiserBackend,
    conds: Sequence[torch.Tensor],
    bands: Bands,
    uncond: torch.Tensor | None = None,
    gamma: float = 1.0,
) -> Estimator:
    """Hybrid images: eps = sum_i band_i(eps(x_t, prompt_i)).

    `bands` splits a tensor into as many frequency bands as there are prompts, lowest first
    (filters.frequency_bands): prompt 0 shapes the coarse structure seen from afar, the last
    one the fine detail seen up close. The variance is the mean of the prompts' variances.
    """

    def estimate(x: torch.Tensor, t: int) -> Prediction:
        preds = guided_predictions(backend, [x] * len(conds), conds, t, uncond, gamma)
        split = [bands(e) for e, _ in preds]
        if any(len(b) != len(conds) for b in split):
            raise ValueError(f"{len(conds)} prompts need as many frequency bands")
        eps = torch.stack([b[i] for i, b in enumerate(split)]).sum(0)
        return eps, _mean([s for _, s in preds])

    return estimate
