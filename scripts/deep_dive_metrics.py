"""Rule deep_dive_metrics: memorisation of a deep dive run's last samples (nearest training
image of each, near-copies, held-out images as the reference), for a single image the PSNR of
the samples to it, for a class model the share of its guided samples its set's judge reads as
the class asked for and their Frechet distance in the judge's features to the test split (with
its train-vs-test floor), and, where Inception weights can be had, the standard FID (with its
floor; otherwise fid null and the reason)."""

import json
from pathlib import Path

import torch

from diffusionlab.data import as_float, load_dataset
from diffusionlab.deep_dive.figures import nearest_figure
from diffusionlab.deep_dive.metrics import judge_frechet, memorisation, memorisation_table, psnr
from diffusionlab.evaluation.classifier import load_classifier, predict
from diffusionlab.evaluation.fid import standard_fid
from diffusionlab.jobrunner import run_job, write_json
from diffusionlab.runtime import pick_device, set_threads


def main(data, samples, table, summary, figure, near_copy_rms, title, judge=None, judge_info=None,
         shown=8, fid="auto", device="cpu"):
    dev = pick_device(device)
    dataset = load_dataset(data)
    drawn = torch.load(samples, weights_only=True)
    x = drawn["samples"].clamp(0, 1)
    train, test = as_float(dataset.train_images), as_float(dataset.test_images)
    single = dataset.meta["dataset"] == "image"
    # A single image's test split is the image itself: no held-out reference exists.
    result = memorisation(x, train, None if single else test, near_copy_rms)
    values = {"dataset": dataset.meta.get("name"), "epoch": drawn["epoch"], **result["summary"]}
    if single:
        db = psnr(x, test[0])
        values.update(psnr_mean=float(db.mean()), psnr_min=float(db.min()),
                      psnr_max=float(db.max()), fid=None,
                      fid_reason="one image has no held-out images to compare with.")
    else:
        values.update(standard_fid(x, train, test, fid, dev))
        if values["fid"] is None:
            print(f"no standard FID: {values['fid_reason']}")
    if judge is not None and len(drawn["classes"]):
        classifier = load_classifier(judge, dev)
        read = predict(classifier, x)
        values.update(judge_test_accuracy=json.loads(Path(judge_info).read_text())["test_accuracy"],
                      class_accuracy=float((read == drawn["classes"]).float().mean()),
                      judged_samples=len(read), **judge_frechet(classifier, x, train, test))
    memorisation_table(result, drawn["classes"], dataset.test_labels, dataset.train_labels,
                       dataset.class_names).to_csv(table, index=False, float_format="%.6g")
    write_json(values, summary)
    d, i = result["samples"]
    nearest_figure(x[:shown], train[i[:shown]], d[:shown], figure,
                   f"{title}: samples and their nearest training images (RMS distance)")


if __name__ == "__main__":
    sm = snakemake  # noqa: F821 (injected by Snakemake)
    set_threads(sm.threads)
    run_job(main, sm.log[0], sm.input.data, sm.input.samples, sm.output.table,
            sm.output.summary, sm.output.figure, judge=sm.input.get("judge"),
            judge_info=sm.input.get("judge_info"), **sm.params.args)
