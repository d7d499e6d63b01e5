"""Rule latent_autoencoder: train (or resume) the autoencoder of one latent run on its data set;
the final checkpoint, its losses and what made it."""

from diffusionlab.config import ConfigError
from diffusionlab.data import load_dataset
from diffusionlab.jobrunner import run_job, write_json
from diffusionlab.latent import (
    AutoencoderSettings,
    checked_spec,
    latent_multiple,
    train_autoencoder,
)
from diffusionlab.runtime import describe, pick_device, set_threads
from diffusionlab.torchfiles import atomic_save
from diffusionlab.training import discard_resume_state, files_digest, write_losses


def main(name: str, threads: int, data: str, code: list[str], checkpoint: str,
         losses_csv: str, info_json: str, *, autoencoder: dict, training: dict,
         ddpm_model: dict, seed: int, device: str, workdir: str) -> None:
    set_threads(threads)
    dev = pick_device(device)
    dataset = load_dataset(data)
    channels, size, _ = dataset.image_shape
    try:
        spec = checked_spec({**autoencoder, "channels": channels, "image_size": size,
                             "latent_multiple": latent_multiple(ddpm_model)})
        s = AutoencoderSettings(**training, seed=seed)
    except ConfigError as err:
        raise ConfigError(f"config key latent.models.{name}: {err}") from err
    result = train_autoencoder(s, spec, dataset.train_images, workdir, dev, dataset.meta,
                               code=files_digest([*code, __file__]))
    atomic_save(result["checkpoint"], checkpoint)
    write_losses(result["losses"], losses_csv)
    write_json({"settings": training, "seed": seed, "spec": spec, "data": dataset.meta,
                "machine": describe(dev)}, info_json)
    discard_resume_state(workdir)  # finished: a rerun Snakemake starts is a fresh training


if __name__ == "__main__":
    sm = snakemake  # noqa: F821 (injected by Snakemake)
    run_job(main, sm.log[0], sm.wildcards.dataset, sm.threads, sm.input.data,
            list(sm.input.code), sm.output.checkpoint, sm.output.losses, sm.output.info,
            **sm.params.args)
