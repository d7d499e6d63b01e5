"""Part A judged by the classifier: batches made with part A's own algorithms, and their tables.

- Illusions (1.8, 1.9 and more views): a batch of each illusion is sampled with the estimator
  of part A's figure (`guidance.anagram` or `guidance.factorized`, the same prompts, views or
  blurs, stride, guidance and seed) and scored by `illusions.illusion_scores`: anagrams under
  their own views, hybrids under the low-pass of their first blur (seen from afar: the first
  prompt's digit) and as they are (up close: the last prompt's digit). A three-way hybrid is
  judged on these two views; its middle prompt shows in no single view and is not scored.
  Its ceiling: the same scores of hybrids made of real test digits with the same blur. At
  28x28 the low band of a digit carries most of it, so even these fail often: the ceiling
  says how much of a low success rate is the sampler's and how much the protocol's.
- SDEdit (1.7): test digits are edited at every i_start with the estimator of part A's SDEdit
  figure (`edit.sdedit`), and `illusions.sdedit_class_retention` counts the edits still read
  as the source digit.

Batches are sampled `batch_size` images at a time from one generator seeded with the figure's
seed: a batch no larger than batch_size is exactly the batch part A's job makes for as many
samples. Images are in [0, 1] (the MNIST backend's model space).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence

import pandas as pd
import torch

from ..part_a.backend import DenoiserBackend
from ..part_a.denoise import sample
from ..part_a.edit import sdedit
from ..part_a.filters import frequency_bands, lowpass
from ..part_a.guidance import Estimator, anagram, factorized, guided
from ..part_a.items import generator
from ..part_a.views import get_view
from .classifier import DigitClassifier, accuracy
from .illusions import (
    hybrid_scores,
    illusion_scores,
    per_sample,
    real_hybrids,
    sdedit_class_retention,
)

SCORE_COLUMNS = ["item", "sample", "view", "target", "p_target", "p_other", "predicted",
                 "correct"]


def _chunks(total: int, batch_size: int) -> list[tuple[int, int]]:
    return [(lo, min(total, lo + batch_size)) for lo in range(0, total, batch_size)]


def illusion_estimator(backend: DenoiserBackend, job: Mapping) -> Estimator:
    """The noise estimator of part A's job for an illusion (see part_a.items.visual_anagram
    and part_a.items.hybrid), with classifier-free guidance."""
    conds = list(backend.encode_prompts(job["prompts"]).split(1))
    uncond, gamma = backend.null_embedding(), job["guidance"]
    if job["kind"] == "anagram":
        return anagram(backend, conds, [get_view(v) for v in job["views"]], uncond, gamma)
    bands = functools.partial(frequency_bands, kernel_sizes=job["kernel_sizes"],
                              sigmas=job["sigmas"])
    return factorized(backend, conds, bands, uncond, gamma)


def illusion_batch(
    backend: DenoiserBackend, job: Mapping, num_samples: int, batch_size: int
) -> torch.Tensor:
    """num_samples images [N, C, H, W] in [0, 1] of one illusion, sampled as part A does."""
    estimator = illusion_estimator(backend, job)
    timesteps = backend.strided_timesteps(job["stride"])
    g = generator(job["seed"])
    return torch.cat([
        backend.to_unit(sample(backend, hi - lo, timesteps, estimator, g)[0])
        for lo, hi in _chunks(num_samples, batch_size)
    ])


def score_illusion(classifier: DigitClassifier, images: torch.Tensor, job: Mapping) -> pd.DataFrame:
    """`illusion_scores` of one illusion's images, with its item name first."""
    targets = job["targets"]
    if job["kind"] == "anagram":
        scores = illusion_scores(classifier, images, [get_view(v) for v in job["views"]],
                                 targets)
    else:
        scores = hybrid_scores(classifier, images, far_view(job), targets[0], targets[-1])
    return scores.assign(item=job["item"])[SCORE_COLUMNS]


def far_view(job: Mapping) -> Callable[[torch.Tensor], torch.Tensor]:
    """A hybrid seen from afar: the low-pass of its first blur."""
    return functools.partial(lowpass, kernel_size=job["kernel_sizes"][0], sigma=job["sigmas"][0])


def hybrid_ceiling(
    classifier: DigitClassifier, images: torch.Tensor, labels: torch.Tensor, job: Mapping,
    pairs: int,
) -> tuple[float, int]:
    """The success rate of hybrids made of real test digits (`illusions.real_hybrids`): the
    k-th test image of the far digit with the k-th of the near digit, k < pairs, under the
    job's blur. Returns (rate, pairs used): what a perfect sampler would reach."""
    far_digit, near_digit = job["targets"][0], job["targets"][-1]
    far, near = images[labels == far_digit], images[labels == near_digit]
    n = min(pairs, len(far), len(near))
    if n == 0:
        raise ValueError(f"no test digits {far_digit} and {near_digit} to pair")
    hybrids = real_hybrids(far_view(job), far[:n], near[:n])
    scores = hybrid_scores(classifier, hybrids, far_view(job), far_digit, near_digit)
    return float(per_sample(scores)["success"].mean()), n


def _joined(values: Sequence) -> str:
    return " / ".join(str(v) for v in values)


def illusion_tables(
    scores: pd.DataFrame, jobs: Sequence[Mapping], ceilings: Mapping[str, float] | None = None
) -> dict[str, pd.DataFrame]:
    """The tables of the illusions rule from the scores of every item (`score_illusion`) and
    the hybrids' `hybrid_ceiling` rates by item:

    views: per item and view: target, samples, p_target and p_other (means over samples),
      accuracy (fraction of samples read as the target);
    table: per item (figure): kind, figure, digits, views, samples, and over samples the means
      of alignment, concealment and success (success_rate: every view read as its target);
      ceiling, the success rate of real-digit hybrids (NaN for anagrams);
    view_types: the same means over every item with the same kind and views.
    """
    by_item = {item: rows for item, rows in scores.groupby("item", sort=False)}
    views = scores.groupby(["item", "view"], sort=False).agg(
        target=("target", "first"), samples=("sample", "size"), p_target=("p_target", "mean"),
        p_other=("p_other", "mean"), accuracy=("correct", "mean")).reset_index()
    samples = []
    for job in jobs:
        item_scores = by_item[job["item"]]
        samples.append(per_sample(item_scores).assign(
            item=job["item"], kind=job["kind"], figure=job["figure"],
            digits=_joined(job["targets"]), views=_joined(item_scores["view"].unique())))
    samples = pd.concat(samples, ignore_index=True)
    means = {"samples": ("sample", "size"), "alignment": ("alignment", "mean"),
             "concealment": ("concealment", "mean"), "success_rate": ("success", "mean")}
    table = samples.groupby(["item", "kind", "figure", "digits", "views"], sort=False).agg(
        **means).reset_index()
    table["ceiling"] = table["item"].map(ceilings or {}).astype(float)  # NaN: none measured
    view_types = samples.groupby(["kind", "views"], sort=False).agg(
        items=("item", "nunique"), **means).reset_index()
    return {"views": views, "table": table, "view_types": view_types}


def sdedit_edits(
    backend: DenoiserBackend,
    images: torch.Tensor,
    prompt: str,
    i_starts: Sequence[int],
    stride: int,
    guidance: float,
    seed: int,
    batch_size: int,
) -> dict[int, torch.Tensor]:
    """SDEdit of images [N, C, H, W] in [0, 1] at every i_start, with the estimator of part A's
    SDEdit figure (part_a.items.edits): {i_start: the N edits in [0, 1]}."""
    timesteps = backend.strided_timesteps(stride)
    # Guiding the null prompt against itself changes nothing (eps_u + gamma (eps_u - eps_u)):
    # its unguided estimate is the same and costs one model pass instead of two.
    uncond = None if prompt == backend.null_prompt else backend.null_embedding()
    estimator = guided(backend, backend.encode_prompts([prompt]), uncond, guidance)
    g = generator(seed)
    batches = [sdedit(backend, backend.to_model(images[lo:hi]), timesteps, i_starts, estimator, g)
               for lo, hi in _chunks(len(images), batch_size)]
    return {i: torch.cat([backend.to_unit(edits[k]) for edits in batches])
            for k, i in enumerate(i_starts)}


def sdedit_table(
    classifier: DigitClassifier,
    sources: torch.Tensor,
    labels: torch.Tensor,
    edits: Mapping[int, torch.Tensor],
    timesteps: Sequence[int],
) -> pd.DataFrame:
    """`sdedit_class_retention` with each i_start's timestep t and source_accuracy, the
    fraction of the unedited sources read as their label (the ceiling of kept_class)."""
    table = sdedit_class_retention(classifier, edits, labels)
    table.insert(1, "t", [timesteps[i] for i in table["i_start"]])
    return table.assign(source_accuracy=accuracy(classifier, sources, labels))
