"""Rule latent_train: the pixel twin's DDPM (same network options, schedule and training
settings) trained by training.train on a latent cache's scaled latents (resumable), the
checkpoints of its sampled epochs in one folder."""

import shutil
from pathlib import Path

from diffusionlab.config import ConfigError
from diffusionlab.jobs import run_job, write_json
from diffusionlab.latent import latent_data_meta, latent_model_options, load_latents, scaled_latents
from diffusionlab.part_b import losses_table
from diffusionlab.runtime import describe, pick_device, set_threads, use_bf16
from diffusionlab.training import TrainSettings, discard_resume_state, files_digest, train


def main(name: str, settings: dict, performance: dict, device: str, threads: int, latents: str,
         code: list[str], checkpoints: str, losses_csv: str, info_json: str,
         workdir: str) -> None:
    set_threads(threads)
    dev = pick_device(device)
    bf16 = use_bf16(performance["precision"], dev)
    cache = load_latents(latents)
    z, labels = scaled_latents(cache)
    s = TrainSettings(**{**settings, "model": latent_model_options(cache, **settings["model"]),
                         "checkpoint_epochs": tuple(settings["checkpoint_epochs"])},
                      channels_last=performance["channels_last"], autocast_bf16=bf16,
                      compile=performance["compile"])
    try:
        spec = s.spec()
    except ConfigError as err:
        raise ConfigError(f"config key latent.models.{name}: the DDPM of deep_dive.models."
                          f"{name} does not fit the latents of shape {list(z.shape[1:])}: "
                          f"{err}") from err
    meta = latent_data_meta(cache)
    result = train(s, z, labels, workdir, dev, meta, code=files_digest([*code, __file__]))
    out = Path(checkpoints)
    out.mkdir(parents=True, exist_ok=True)
    for epoch in s.checkpoint_epochs:
        shutil.copyfile(result["checkpoints"][epoch], out / f"epoch{epoch}.pt")
    losses_table(result["losses"]).to_csv(losses_csv, index=False, float_format="%.6g")
    write_json({"settings": settings, "spec": spec, "bf16": bf16,
                "channels_last": s.channels_last, "compile": s.compile, "data": meta,
                "machine": describe(dev)}, info_json)
    discard_resume_state(workdir)  # finished: a rerun Snakemake starts is a fresh training


if __name__ == "__main__":
    sm = snakemake  # noqa: F821 (injected by Snakemake)
    run_job(main, sm.log[0], sm.wildcards.dataset, sm.params.settings, sm.params.performance,
            sm.params.device, sm.threads, sm.input.latents, list(sm.input.code),
            sm.output.checkpoints, sm.output.losses, sm.output.info, sm.params.workdir)
