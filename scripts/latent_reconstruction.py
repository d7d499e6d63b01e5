"""Rule latent_reconstruction: encode -> decode of the test split through a latent run's
autoencoder: MSE and PSNR over the whole split, and test images beside their reconstructions."""

import torch

from diffusionlab.data import as_float, load_dataset
from diffusionlab.figures import image_grid
from diffusionlab.jobrunner import run_job, write_json
from diffusionlab.latent import (
    decode_latents,
    encode_images,
    load_autoencoder,
    reconstruction_metrics,
)
from diffusionlab.runtime import pick_device, set_threads


def main(autoencoder, data, metrics, figure, *, shown, batch_size, device, title):
    model = load_autoencoder(autoencoder, pick_device(device))
    test = load_dataset(data).test_images
    write_json(reconstruction_metrics(model, test, batch_size), metrics)
    originals = test[:shown]
    # scale 1: the posterior means as they are, the decoder's own input
    decoded = decode_latents(encode_images(model, originals, batch_size), model, 1.0)
    error = (decoded - as_float(originals)).square().flatten(1).mean(1)
    image_grid([list(as_float(originals)), list(decoded)], figure,
               row_labels=["test image", "decoded"],
               col_labels=[f"{float(db):.1f} dB" for db in -10 * torch.log10(error)],
               title=f"{title}: test images and their reconstructions (PSNR)", cell_inches=0.8)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821 (injected by Snakemake)
    set_threads(sm.threads)
    run_job(main, sm.log[0], sm.input.autoencoder, sm.input.data, sm.output.metrics,
            sm.output.figure, **sm.params.args)
