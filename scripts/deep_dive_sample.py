"""Rule deep_dive_sample: samples of one checkpoint of a deep dive run, as a grid (one row per
class for a class model), an animation, and a tensor file the summary, detailed-sampling and
memorisation jobs read."""

from pathlib import Path

from diffusionlab.deep_dive.draw import draw
from diffusionlab.deep_dive.figures import sampling_figures
from diffusionlab.jobrunner import run_job
from diffusionlab.runtime import pick_device, set_threads
from diffusionlab.torchfiles import atomic_save


def main(checkpoints, grid, gif, tensors, epoch, title, frame_ms, **args):
    drawn = draw(Path(checkpoints) / f"epoch{epoch}.pt", **{**args,
                 "device": pick_device(args["device"])})
    atomic_save(sampling_figures(drawn, grid, gif, title=title, frame_ms=frame_ms,
                                 guidance=args.get("guidance", 0.0),
                                 samples_per_class=args.get("samples_per_class")), Path(tensors))


if __name__ == "__main__":
    sm = snakemake  # noqa: F821 (injected by Snakemake)
    set_threads(sm.threads)
    run_job(main, sm.log[0], sm.input.checkpoints, sm.output.grid, sm.output.gif,
            sm.output.tensors, int(sm.wildcards.epoch), **sm.params.args)
