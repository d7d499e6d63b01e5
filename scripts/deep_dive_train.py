"""Rule deep_dive_train: train one deep dive run's DDPM on its data set (resumable), keep the
checkpoints of its sampled epochs in one folder."""

import shutil
from pathlib import Path

from diffusionlab.config import ConfigError
from diffusionlab.data import load_dataset
from diffusionlab.jobs import run_job, write_json
from diffusionlab.part_b import losses_table
from diffusionlab.runtime import describe, pick_device, set_threads, use_bf16
from diffusionlab.training import TrainSettings, discard_resume_state, files_digest, train


def main(name: str, settings: dict, performance: dict, device: str, threads: int, data: str,
         code: list[str], checkpoints: str, losses_csv: str, info_json: str,
         workdir: str) -> None:
    set_threads(threads)
    dev = pick_device(device)
    bf16 = use_bf16(performance["precision"], dev)
    dataset = load_dataset(data)
    channels, size, _ = dataset.image_shape
    # The data set gives the network its channels, size and classes.
    model = {**settings["model"], "channels": channels, "image_size": size}
    if settings["kind"] == "class":
        model["num_classes"] = len(dataset.class_names)
    s = TrainSettings(**{**settings, "model": model,
                         "checkpoint_epochs": tuple(settings["checkpoint_epochs"])},
                      channels_last=performance["channels_last"], autocast_bf16=bf16,
                      compile=performance["compile"])
    try:
        spec = s.spec()
    except ConfigError as err:
        raise ConfigError(f"config key deep_dive.models.{name}: {err} (the {name} images are "
                          f"{channels}x{size}x{size})") from err
    result = train(s, dataset.train_images, dataset.train_labels, workdir, dev, dataset.meta,
                   code=files_digest([*code, __file__]))
    out = Path(checkpoints)
    out.mkdir(parents=True, exist_ok=True)
    for epoch in s.checkpoint_epochs:
        shutil.copyfile(result["checkpoints"][epoch], out / f"epoch{epoch}.pt")
    losses_table(result["losses"]).to_csv(losses_csv, index=False, float_format="%.6g")
    write_json({"settings": settings, "spec": spec, "bf16": bf16,
                "channels_last": s.channels_last, "compile": s.compile, "data": dataset.meta,
                "machine": describe(dev)}, info_json)
    discard_resume_state(workdir)  # finished: a rerun Snakemake starts is a fresh training


if __name__ == "__main__":
    sm = snakemake  # noqa: F821 (injected by Snakemake)
    run_job(main, sm.log[0], sm.wildcards.dataset, sm.params.settings, sm.params.performance,
            sm.params.device, sm.threads, sm.input.data, list(sm.input.code),
            sm.output.checkpoints, sm.output.losses, sm.output.info, sm.params.workdir)
