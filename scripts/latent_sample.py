"""Rule latent_sample: samples of one checkpoint of a latent run, drawn in the latents as the
pixel run's are (deep_dive.draw) and decoded, every animation and strip frame too, before the
figures: a grid (one row per class), an animation, and the decoded tensors the summary,
detailed-sampling and memorisation jobs read."""

from pathlib import Path

import torch

from diffusionlab.deep_dive.draw import draw
from diffusionlab.deep_dive.figures import sampling_figures
from diffusionlab.jobrunner import run_job
from diffusionlab.latent import decode_frames, decode_latents, load_autoencoder
from diffusionlab.runtime import pick_device, set_threads
from diffusionlab.torchfiles import atomic_save
from diffusionlab.training import read_checkpoint


def main(checkpoints, autoencoder, grid, gif, tensors, epoch, title, frame_ms, **args):
    device = pick_device(args["device"])
    checkpoint = Path(checkpoints) / f"epoch{epoch}.pt"
    drawn = draw(checkpoint, **{**args, "device": device})
    scale = read_checkpoint(checkpoint)["data"]["latent"]["scale"]
    decoder = load_autoencoder(autoencoder, device)
    drawn["samples"] = decode_latents(drawn["samples"], decoder, scale)
    drawn["frames"] = torch.stack(decode_frames(drawn["frames"], decoder, scale))
    atomic_save(sampling_figures(drawn, grid, gif, title=title, frame_ms=frame_ms,
                                 guidance=args.get("guidance", 0.0),
                                 samples_per_class=args.get("samples_per_class"),
                                 what="decoded latent samples"), Path(tensors))


if __name__ == "__main__":
    sm = snakemake  # noqa: F821 (injected by Snakemake)
    set_threads(sm.threads)
    run_job(main, sm.log[0], sm.input.checkpoints, sm.input.autoencoder, sm.output.grid,
            sm.output.gif, sm.output.tensors, int(sm.wildcards.epoch), **sm.params.args)
