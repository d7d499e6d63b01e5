"""Rule latent_versus: a latent run against its pixel twin on the same data set and training
budget: cost (job wall times, throughput, parameters) and quality (the same judges)."""

import json
from pathlib import Path

import torch

from diffusionlab.data import as_float, load_dataset
from diffusionlab.evaluation.classifier import features, load_classifier
from diffusionlab.jobrunner import named, run_job, write_json
from diffusionlab.latent import load_autoencoder
from diffusionlab.latent_versus import (
    frechet_distances,
    job_seconds,
    parameter_count,
    speed,
    versus_table,
)
from diffusionlab.models import build_from_spec
from diffusionlab.runtime import set_threads


def read_json(path):
    return json.loads(Path(path).read_text())


def run_measures(info, metrics, samples, train_job, sample_job, epochs, train_count):
    spec = read_json(info)["spec"]
    seen = epochs * train_count
    drawn = torch.load(samples, weights_only=True)
    values = {"space": "×".join(str(spec[k]) for k in ("channels", "image_size", "image_size")),
              "ddpm_parameters": parameter_count(build_from_spec(spec)),
              "images_seen": seen, "train_job_s": job_seconds(train_job),
              "train_images_per_s": speed(seen, job_seconds(train_job)),
              "sample_s_per_image": job_seconds(sample_job) / len(drawn["samples"])}
    m = read_json(metrics)
    values |= {k: m[k] for k in ("class_accuracy", "sample_near_copies", "sample_median_rms")
               if k in m}
    return values, drawn["samples"]


def main(*, data, pixel_info, latent_info, pixel_metrics, latent_metrics, pixel_samples,
         latent_samples, pixel_train_job, latent_train_job, pixel_sample_job,
         latent_sample_job, autoencoder_job, encode_job, autoencoder, reconstruction, table,
         summary, epochs, judge=None):
    dataset = load_dataset(data)
    n = len(dataset.train_images)
    pixel, pixel_x = run_measures(pixel_info, pixel_metrics, pixel_samples, pixel_train_job,
                                  pixel_sample_job, epochs["pixel"], n)
    latent, latent_x = run_measures(latent_info, latent_metrics, latent_samples,
                                    latent_train_job, latent_sample_job, epochs["latent"], n)
    latent |= {"autoencoder_parameters": parameter_count(load_autoencoder(autoencoder)),
               "autoencoder_job_s": job_seconds(autoencoder_job),
               "encode_job_s": job_seconds(encode_job),
               "reconstruction_psnr_db": read_json(reconstruction)["psnr"]}
    latent["all_training_s"] = sum(latent[k] for k in ("autoencoder_job_s", "encode_job_s",
                                                        "train_job_s"))
    pixel["all_training_s"] = pixel["train_job_s"]
    if judge is not None:
        classifier = load_classifier(judge)
        fd = frechet_distances(lambda x: features(classifier, x), as_float(dataset.test_images),
                               as_float(dataset.train_images),
                               {"pixel": pixel_x, "latent": latent_x})
        for name, values in (("pixel", pixel), ("latent", latent)):
            values |= {"frechet_distance": fd["distances"][name], "frechet_floor": fd["floor"]}
        pixel["frechet_samples"] = latent["frechet_samples"] = fd["samples"]
    versus_table(pixel, latent).to_csv(table, index=False, float_format="%.6g")
    write_json({"dataset": dataset.meta.get("name"), "epochs": epochs, "pixel": pixel,
                "latent": latent}, summary)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821 (injected by Snakemake)
    set_threads(sm.threads)
    # The judge's own record (judge_info) is the pixel run's metrics' business, not ours.
    run_job(main, sm.log[0], **named(sm.input, drop=("code", "judge_info")),
            table=sm.output.table, summary=sm.output.summary, **sm.params.args)
