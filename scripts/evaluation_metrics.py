"""Rules of the evaluation's metrics: denoiser quality, sample quality over training, faster
samplers, guidance."""

from collections.abc import Sequence

from diffusionlab.data import MNIST
from diffusionlab.evaluation.classifier import load_classifier
from diffusionlab.evaluation.denoising import denoising_table
from diffusionlab.evaluation.plots import denoising_figure, guidance_figure, steps_figure
from diffusionlab.evaluation.sample_quality import (
    checkpoint_quality,
    guidance_accuracy,
    sampler_quality,
)
from diffusionlab.jobs import UserError, named, run_job
from diffusionlab.runtime import pick_device, set_threads
from diffusionlab.schedule import DDPMSchedule
from diffusionlab.training import load_checkpoint

FLOAT_FORMAT = "%.6g"


def ddpm_schedule(schedule: dict) -> DDPMSchedule:
    return DDPMSchedule.linear(schedule["num_steps"], schedule["beta_start"], schedule["beta_end"])


def check_steps(steps: Sequence[int], schedule: dict, key: str) -> None:
    too_many = [s for s in steps if s > schedule["num_steps"]]
    if too_many:
        raise UserError(f"{key} {too_many} exceed the {schedule['num_steps']} steps of "
                        "part_b.schedule.num_steps")


def denoising(data, checkpoints, table, figure, epochs, sigmas, digits, seed, device):
    dev = pick_device(device)
    mnist = MNIST.load(data)
    denoisers = {f"UNet, epoch {e}": load_checkpoint(path, dev)
                 for e, path in zip(epochs, checkpoints, strict=True)}
    clean = mnist.test_images[:digits]
    result = denoising_table(denoisers, clean, mnist.train_images, sigmas, seed)
    result.assign(test_digits=len(clean)).to_csv(table, index=False, float_format=FLOAT_FORMAT)
    denoising_figure(result, figure, title=f"One-step denoising of {len(clean)} test digits")


def load_for_floor(data, num_samples: int, key: str) -> MNIST:
    """The data, with enough training digits for the floor of num_samples generated ones."""
    mnist = MNIST.load(data)
    if num_samples > len(mnist.train_labels):
        raise UserError(f"{key} = {num_samples} needs as many "
                        f"training digits for its floor; the data has {len(mnist.train_labels)}")
    return mnist


def checkpoints(data, classifier, checkpoints, table, epochs: Sequence[int], schedule: dict,
                spacing: str, num_samples: int, guidance: float, batch_size: int, seed: int,
                device: str, precision: str):
    mnist = load_for_floor(data, num_samples, "evaluation.checkpoints.num_samples")
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
    mnist = load_for_floor(data, num_samples, "evaluation.sampler_steps.num_samples")
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
                 title=f"Faster sampling of the {model_name} UNet ({num_samples} digits)")


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
    guidance_figure(result, figure, title="Class-conditioned samples read as the requested digit")


if __name__ == "__main__":
    sm = snakemake  # noqa: F821 (injected by Snakemake)
    set_threads(sm.threads)
    job = {"denoising": denoising, "checkpoints": checkpoints, "sampler_steps": sampler_steps,
           "guidance": guidance}[sm.params.job]
    run_job(job, sm.log[0], **named(sm.input), **named(sm.output), **sm.params.args)
