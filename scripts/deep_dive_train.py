"""Rule deep_dive_train: train one deep dive run's DDPM on its data set (resumable), keep the
checkpoints of its sampled epochs in one folder."""

from pathlib import Path

from diffusionlab.config import ConfigError
from diffusionlab.data import load_dataset
from diffusionlab.jobrunner import run_job
from diffusionlab.runtime import pick_device, set_threads
from diffusionlab.training import job_settings, train_job


def main(name: str, settings: dict, performance: dict, device: str, threads: int, data: str,
         code: list[str], checkpoints: str, losses_csv: str, info_json: str,
         workdir: str) -> None:
    set_threads(threads)
    dev = pick_device(device)
    dataset = load_dataset(data)
    channels, size, _ = dataset.image_shape
    # The data set gives the network its channels, size and classes.
    model = {**settings["model"], "channels": channels, "image_size": size}
    if settings["kind"] == "class":
        model["num_classes"] = len(dataset.class_names)
    s = job_settings({**settings, "model": model}, performance, dev)
    try:
        spec = s.spec()
    except ConfigError as err:
        raise ConfigError(f"config key deep_dive.models.{name}: {err} (the {name} images are "
                          f"{channels}x{size}x{size})") from err
    train_job(s, dataset.train_images, dataset.train_labels, dataset.meta, workdir=workdir,
              device=dev, code_files=[*code, __file__],
              checkpoints={e: Path(checkpoints) / f"epoch{e}.pt" for e in s.checkpoint_epochs},
              losses_csv=losses_csv, info_json=info_json,
              info={"settings": settings, "spec": spec})


if __name__ == "__main__":
    sm = snakemake  # noqa: F821 (injected by Snakemake)
    run_job(main, sm.log[0], sm.wildcards.dataset, sm.params.settings, sm.params.performance,
            sm.params.device, sm.threads, sm.input.data, list(sm.input.code),
            sm.output.checkpoints, sm.output.losses, sm.output.info, sm.params.workdir)
