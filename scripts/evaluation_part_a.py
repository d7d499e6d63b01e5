"""Rules of part A's metrics on the MNIST backend: illusions and SDEdit read by the classifier."""

from collections.abc import Mapping, Sequence

import pandas as pd
import torch

from diffusionlab.data import MNIST, as_float
from diffusionlab.evaluation.classifier import load_classifier
from diffusionlab.evaluation.part_a_metrics import (
    hybrid_ceiling,
    illusion_batch,
    illusion_tables,
    score_illusion,
    sdedit_edits,
    sdedit_table,
)
from diffusionlab.evaluation.plots import illusions_figure, sdedit_figure
from diffusionlab.jobrunner import UserError, named, run_job
from diffusionlab.part_a.items import open_backend
from diffusionlab.runtime import pick_device, set_threads
from diffusionlab.torchfiles import read_torch_dict

FLOAT_FORMAT = "%.6g"


def figure_images(path: str, job: Mapping, samples: int) -> torch.Tensor:
    """The first `samples` images part A saved beside the figure of `job`."""
    saved = read_torch_dict(path, {"prompts", "images"}, "part A's images")
    if saved["prompts"] != job["prompts"] or len(saved["images"]) < samples:
        raise UserError(f"{path} does not hold {samples} images of {job['prompts']}; "
                        "rerun part A's job for it")
    return saved["images"][:samples]


def illusions(data: str, classifier: str, scores: str, views: str, table: str, view_types: str,
              figure: str, jobs: Sequence[Mapping], samples: int, backend: Mapping,
              batch_size: int, device: str, checkpoint: str | None = None,
              figure_tensors: Sequence[str] = ()) -> None:
    """Score `samples` images of every illusion: those of part A's figures (figure_tensors, in
    the order of jobs) when given, else a batch sampled from the checkpoint; and each hybrid's
    ceiling on as many pairs of test digits."""
    judge = load_classifier(classifier, pick_device(device))
    mnist = MNIST.load(data)
    ceilings = {}
    model = None if figure_tensors else open_backend({**backend, "checkpoint": checkpoint}, device)
    all_scores = []
    for k, job in enumerate(jobs):
        if figure_tensors:
            images, source = figure_images(figure_tensors[k], job, samples), "part A's figure"
        else:
            images, source = illusion_batch(model, job, samples, batch_size), "sampled"
        item_scores = score_illusion(judge, images, job)
        print(f"{job['item']} ({source}, {samples} images): every view read as its digit in "
              f"{item_scores.groupby('sample')['correct'].all().mean():.1%}", flush=True)
        if job["kind"] == "hybrid":
            rate, pairs = hybrid_ceiling(judge, mnist.test_images, mnist.test_labels, job,
                                         samples)
            ceilings[job["item"]] = rate
            print(f"  ceiling: {rate:.1%} of {pairs} hybrids of real test digits", flush=True)
        all_scores.append(item_scores)
    all_scores = pd.concat(all_scores, ignore_index=True)
    all_scores.to_csv(scores, index=False, float_format=FLOAT_FORMAT)
    tables = illusion_tables(all_scores, jobs, ceilings)
    for name, path in {"views": views, "table": table, "view_types": view_types}.items():
        tables[name].to_csv(path, index=False, float_format=FLOAT_FORMAT)
    illusions_figure(tables["table"], figure,
                     title=f"Part A illusions read by the classifier ({samples} samples each)")


def sdedit(data: str, classifier: str, checkpoint: str, table: str, figure: str, prompt: str,
           i_starts: Sequence[int], stride: int, guidance: float, seed: int, digits: int,
           backend: Mapping, batch_size: int, device: str) -> None:
    """SDEdit of the first `digits` test digits at every i_start, and the edits read as their
    source digit."""
    mnist = MNIST.load(data)
    if digits > len(mnist.test_labels):
        raise UserError(f"evaluation.sdedit.digits = {digits}, but the test split has "
                        f"{len(mnist.test_labels)} digits")
    sources, labels = as_float(mnist.test_images[:digits]), mnist.test_labels[:digits]
    model = open_backend({**backend, "checkpoint": checkpoint}, device)
    edits = sdedit_edits(model, sources, prompt, i_starts, stride, guidance, seed, batch_size)
    result = sdedit_table(load_classifier(classifier, model.device), sources, labels, edits,
                          model.strided_timesteps(stride))
    print(result.to_string(index=False), flush=True)
    result.to_csv(table, index=False, float_format=FLOAT_FORMAT)
    under = f"\"{prompt}\"" if prompt else "no prompt"
    sdedit_figure(result, figure,
                  title=f"SDEdit of {digits} test digits under {under}: source digit kept")


if __name__ == "__main__":
    sm = snakemake  # noqa: F821 (injected by Snakemake)
    set_threads(sm.threads)
    job = {"illusions": illusions, "sdedit": sdedit}[sm.params.job]
    run_job(job, sm.log[0], **named(sm.input), **named(sm.output), **sm.params.args)
