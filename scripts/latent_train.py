"""Rule latent_train: the pixel twin's DDPM (same network options, schedule and training
settings) trained by training.train on a latent cache's scaled latents (resumable), the
checkpoints of its sampled epochs in one folder."""

from pathlib import Path

from diffusionlab.config import ConfigError
from diffusionlab.jobrunner import run_job
from diffusionlab.latent import latent_data_meta, latent_model_options, load_latents, scaled_latents
from diffusionlab.runtime import pick_device, set_threads
from diffusionlab.training import job_settings, train_job


def main(name: str, settings: dict, performance: dict, device: str, threads: int, latents: str,
         code: list[str], checkpoints: str, losses_csv: str, info_json: str,
         workdir: str) -> None:
    set_threads(threads)
    dev = pick_device(device)
    cache = load_latents(latents)
    z, labels = scaled_latents(cache)
    model = latent_model_options(cache, **settings["model"])
    s = job_settings({**settings, "model": model}, performance, dev)
    try:
        spec = s.spec()
    except ConfigError as err:
        raise ConfigError(f"config key latent.models.{name}: the DDPM of deep_dive.models."
                          f"{name} does not fit the latents of shape {list(z.shape[1:])}: "
                          f"{err}") from err
    train_job(s, z, labels, latent_data_meta(cache), workdir=workdir, device=dev,
              code_files=[*code, __file__],
              checkpoints={e: Path(checkpoints) / f"epoch{e}.pt" for e in s.checkpoint_epochs},
              losses_csv=losses_csv, info_json=info_json,
              info={"settings": settings, "spec": spec})


if __name__ == "__main__":
    sm = snakemake  # noqa: F821 (injected by Snakemake)
    run_job(main, sm.log[0], sm.wildcards.dataset, sm.params.settings, sm.params.performance,
            sm.params.device, sm.threads, sm.input.latents, list(sm.input.code),
            sm.output.checkpoints, sm.output.losses, sm.output.info, sm.params.workdir)
