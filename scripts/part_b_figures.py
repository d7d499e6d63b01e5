"""Rules of part B's figures: noising, denoiser results, out-of-distribution, loss curves."""

from diffusionlab.data import MNIST
from diffusionlab.jobrunner import named, run_job
from diffusionlab.part_b import (
    denoiser_results_figure,
    noising_figure,
    out_of_distribution,
    plot_losses,
)
from diffusionlab.runtime import pick_device, set_threads


def noising(data, out, sigmas, digits, seed):
    noising_figure(MNIST.load(data), sigmas, digits, seed, out)


def denoiser_results(data, checkpoint, out, sigma, digits, seed, device, precision):
    denoiser_results_figure(checkpoint, MNIST.load(data), sigma, digits, seed, out,
                            pick_device(device), precision)


def ood(data, checkpoint, figure, metrics, sigmas, digits, seed, device, precision):
    out_of_distribution(checkpoint, MNIST.load(data), sigmas, digits, seed, figure, metrics,
                        pick_device(device), precision)


def loss_plot(losses, out, title):
    plot_losses(losses, out, title)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821 (injected by Snakemake)
    set_threads(sm.threads)
    job = {"noising": noising, "denoiser_results": denoiser_results, "ood": ood,
           "loss_plot": loss_plot}[sm.params.job]
    run_job(job, sm.log[0], **named(sm.input), **named(sm.output), **sm.params.args)
