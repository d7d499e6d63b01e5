"""Rules of the evaluation's metrics: denoiser quality, sample quality over training, the sweeps
over sampler steps and guidance scales, and the samples the targets are computed from."""

import math
from collections.abc import Sequence

from diffusionlab.data import MNIST
from diffusionlab.evaluation.classifier import features, load_classifier
from diffusionlab.evaluation.denoising import denoising_table
from diffusionlab.evaluation.frechet import feature_frechet_distance
from diffusionlab.evaluation.plots import denoising_figure, guidance_figure, steps_figure
from diffusionlab.evaluation.sample_quality import (
    checkpoint_quality,
    figure_batches,
    guidance_accuracy,
    judged,
    real_reference,
    sampler_quality,
)
from diffusionlab.jobrunner import UserError, named, run_job, write_json
from diffusionlab.part_b import sample_classes
from diffusionlab.runtime import pick_device, set_threads, use_bf16
from diffusionlab.schedule import DDPMSchedule
from diffusionlab.training import load_checkpoint, read_checkpoint

FLOAT_FORMAT = "%.6g"
NUM_DIGITS = 10


def ddpm_schedule(schedule: dict) -> DDPMSchedule:
    return DDPMSchedule.linear(schedule["num_steps"], schedule["beta_start"], schedule["beta_end"])


def check_steps(steps: Sequence[int], schedule: dict, key: str) -> None:
    too_many = [s for s in steps if s > schedule["num_steps"]]
    if too_many:
        raise UserError(f"{key} {too_many} exceed the {schedule['num_steps']} steps of "
                        "part_b.schedule.num_steps")


def denoising(data, checkpoints, table, figure, epochs, sigmas, digits, seed, device, precision):
    dev = pick_device(device)
    mnist = MNIST.load(data)
    denoisers = {f"UNet, epoch {e}": load_checkpoint(path, dev, precision)
                 for e, path in zip(epochs, checkpoints, strict=True)}
    clean = mnist.test_images[:digits]
    result = denoising_table(denoisers, clean, mnist.train_images, sigmas, seed)
    result.assign(test_digits=len(clean)).to_csv(table, index=False, float_format=FLOAT_FORMAT)
    denoising_figure(result, figure, title=f"One-step denoising of {len(clean)} test digits")


def load_for_floor(data, num_samples: int, setting: str) -> MNIST:
    """The data, with enough training digits for the floor of num_samples generated ones;
    `setting` names the config value that asks for them."""
    mnist = MNIST.load(data)
    if num_samples > len(mnist.train_labels):
        raise UserError(f"{setting} needs {num_samples} training digits for its Fréchet floor; "
                        f"the data has {len(mnist.train_labels)}")
    return mnist


def checkpoints(data, classifier, checkpoints, table, epochs: Sequence[int], schedule: dict,
                spacing: str, num_samples: int, guidance: float, batch_size: int, seed: int,
                device: str, precision: str):
    mnist = load_for_floor(data, num_samples,
                           f"evaluation.checkpoints.num_samples = {num_samples}")
    dev = pick_device(device)
    models = {e: load_checkpoint(path, dev, precision)
              for e, path in zip(epochs, checkpoints, strict=True)}
    result = checkpoint_quality(
        models, ddpm_schedule(schedule), load_classifier(classifier, dev), mnist.train_images,
        mnist.test_images, num_samples=num_samples, seed=seed, guidance=guidance,
        spacing=spacing, variance=schedule["variance"], batch_size=batch_size, device=dev)
    result.to_csv(table, index=False, float_format=FLOAT_FORMAT)


def sampler_steps(data, classifier, checkpoint, quality, timing, figure, model_name: str,
                  schedule: dict, steps: Sequence[int], methods: Sequence[str], spacing: str,
                  num_samples: int, guidance: float, batch_size: int, seed: int, device: str,
                  precision: str):
    check_steps(steps, schedule, "evaluation.sampler_steps.steps")
    mnist = load_for_floor(data, num_samples,
                           f"evaluation.sampler_steps.num_samples = {num_samples}")
    dev = pick_device(device)
    quality_table, timing_table = sampler_quality(
        load_checkpoint(checkpoint, dev, precision), ddpm_schedule(schedule),
        load_classifier(classifier, dev),
        mnist.train_images, mnist.test_images, steps=steps, methods=methods,
        num_samples=num_samples, seed=seed, guidance=guidance, spacing=spacing,
        variance=schedule["variance"], batch_size=batch_size, device=dev)
    quality_table.to_csv(quality, index=False, float_format=FLOAT_FORMAT)
    timing_table.to_csv(timing, index=False, float_format=FLOAT_FORMAT)
    steps_figure(quality_table, timing_table, figure,
                 title=f"Sweep: faster sampling of the {model_name} UNet ({num_samples} digits)")


def guidance(classifier, checkpoint, table, figure, schedule: dict, scales: Sequence[float],
             digits: Sequence[int], samples_per_digit: int, num_steps, method: str, spacing: str,
             batch_size: int, seed: int, device: str, precision: str):
    if num_steps is not None:
        check_steps([num_steps], schedule, "evaluation.guidance.num_steps")
    dev = pick_device(device)
    result = guidance_accuracy(
        load_checkpoint(checkpoint, dev, precision), ddpm_schedule(schedule),
        load_classifier(classifier, dev),
        digits=digits, guidances=scales, samples_per_digit=samples_per_digit, seed=seed,
        num_steps=num_steps, method=method, spacing=spacing, variance=schedule["variance"],
        batch_size=batch_size, device=dev)
    result.to_csv(table, index=False, float_format=FLOAT_FORMAT)
    guidance_figure(result, figure, title="Sweep: class-conditioned samples read as the "
                    f"requested digit ({samples_per_digit} per digit)")


def target_samples(data, classifier, checkpoint, table, drawn, schedule: dict, seed: int,
                   device: str, precision: str, samples_per_digit: int,
                   batch_size: int | None = None, num_samples: int | None = None,
                   samples_per_class: int | None = None, guidance: float = 0.0):
    """The samples the targets read, drawn as the model's figure of its last epoch (rule
    sample, whose settings these are) draws its grid: the same sampler, guidance, precision and
    seed, in batches of the figure's size (or of batch_size, classes 0-9 in turn), as many as
    samples_per_digit per digit take (on average for the time-conditioned model). Writes the
    judge's reading of each sample, and how they were drawn with their Fréchet distance beside
    the floor of as many training digits."""
    conditional = samples_per_class is not None
    figure_batch = NUM_DIGITS * samples_per_class if conditional else num_samples
    batch_size = batch_size or figure_batch
    classes = sample_classes(batch_size // NUM_DIGITS) if conditional else None
    batches = math.ceil(NUM_DIGITS * samples_per_digit / batch_size)
    total = batches * batch_size
    mnist = load_for_floor(
        data, total, f"evaluation.targets.samples_per_digit = {samples_per_digit} ({total} "
        f"samples in batches of {batch_size})")
    dev = pick_device(device)
    epoch = read_checkpoint(checkpoint)["epoch"]
    schedule_t = ddpm_schedule(schedule)
    x = figure_batches(load_checkpoint(checkpoint, dev, precision), schedule_t, batches=batches,
                       batch_size=batch_size, seed=seed, classes=classes, guidance=guidance,
                       variance=schedule["variance"], device=dev)
    judge = load_classifier(classifier, dev)
    requested = classes.repeat(batches) if conditional else None
    readings = judged(judge, x, requested)
    readings.insert(1, "batch", readings["sample"] // batch_size)
    readings.to_csv(table, index=False, float_format=FLOAT_FORMAT)
    reference, floor = real_reference(judge, mnist.train_images, mnist.test_images, total)
    write_json({
        "epoch": epoch, "samples": total, "batch_size": batch_size, "batches": batches,
        "first_batch_is_figure": batch_size == figure_batch, "seed": seed,
        "sampler": "ancestral DDPM", "steps": schedule_t.num_steps,
        "guidance": guidance if conditional else None,
        "precision": "bf16" if use_bf16(precision, dev) else "fp32",
        "frechet_distance": feature_frechet_distance(features(judge, x), reference),
        "floor": floor,
    }, drawn)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821 (injected by Snakemake)
    set_threads(sm.threads)
    job = {"denoising": denoising, "checkpoints": checkpoints, "sampler_steps": sampler_steps,
           "guidance": guidance, "target_samples": target_samples}[sm.params.job]
    run_job(job, sm.log[0], **named(sm.input), **named(sm.output), **sm.params.args)
