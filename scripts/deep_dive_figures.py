"""Rules of the deep dive's figures from saved samples: loss curve, the write-up's "summary"
(a row of samples per sampled epoch) and "detailed sampling" (x_t along the way, with how far
its coarse layout and its detail still are from the finished sample at each step)."""

import torch

from diffusionlab.deep_dive.figures import detailed_figure, summary_figure
from diffusionlab.deep_dive.settling import settling
from diffusionlab.jobrunner import named, run_job
from diffusionlab.part_b import plot_losses


def load(path):
    return torch.load(path, weights_only=True)


def loss_plot(losses, out, title):
    plot_losses(losses, out, f"{title}: training loss")


def summary(samples, out, title, count):
    drawn = [load(p) for p in samples]
    summary_figure({d["epoch"]: d["samples"] for d in drawn}, count, out,
                   f"{title}: samples after each sampled epoch")


def detailed(samples, out, settling_table, title):
    drawn = load(samples)
    names = drawn["class_names"]
    labels = [names[int(c)] for c in drawn["classes"][: drawn["frames"].shape[1]]] \
        if len(drawn["classes"]) else None
    detailed_figure(drawn["frames"], drawn["steps"].tolist(), out,
                    f"{title}: x_t while sampling (epoch {drawn['epoch']})", labels)
    settling(drawn["frames"], drawn["steps"].tolist()).to_csv(settling_table, index=False,
                                                             float_format="%.4g")


if __name__ == "__main__":
    sm = snakemake  # noqa: F821 (injected by Snakemake)
    job = {"loss_plot": loss_plot, "summary": summary, "detailed": detailed}[sm.params.job]
    run_job(job, sm.log[0], **named(sm.input), **named(sm.output), **sm.params.args)
