"""Rule deep_dive_sample: samples of one checkpoint of a deep dive run, as a grid (one row per
class for a class model), an animation, and a tensor file the summary, detailed-sampling and
memorisation jobs read."""

from pathlib import Path

import torch

from diffusionlab.deep_dive.draw import draw
from diffusionlab.deep_dive.figures import sample_grid
from diffusionlab.figures import animation
from diffusionlab.jobs import run_job
from diffusionlab.runtime import pick_device, set_threads
from diffusionlab.training import atomic_save


def main(checkpoints, grid, gif, tensors, epoch, title, frame_ms, **args):
    drawn = draw(Path(checkpoints) / f"epoch{epoch}.pt", **{**args,
                 "device": pick_device(args["device"])})
    classes = drawn["classes"] if len(drawn["classes"]) else None
    what = "class-conditioned, CFG γ = {:g}".format(args.get("guidance", 0)) if classes \
        is not None else "time-conditioned"
    sample_grid(drawn["samples"], grid, classes=classes, class_names=drawn["class_names"],
                title=f"{title}: samples ({what}) after epoch {epoch}")
    columns = args["samples_per_class"] if classes is not None else 8
    order = torch.argsort(classes, stable=True) if classes is not None else slice(None)
    animation([f[order] for f in drawn["frames"]], gif, columns=columns, frame_ms=frame_ms)
    # The strips' frames are kept for the first samples only: what the figures show.
    strips = drawn.pop("strips")
    drawn["frames"] = drawn["frames"][:, :strips].clone()
    atomic_save(drawn, Path(tensors))


if __name__ == "__main__":
    sm = snakemake  # noqa: F821 (injected by Snakemake)
    set_threads(sm.threads)
    run_job(main, sm.log[0], sm.input.checkpoints, sm.output.grid, sm.output.gif,
            sm.output.tensors, int(sm.wildcards.epoch), **sm.params.args)
