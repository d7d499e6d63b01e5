"""Rule train: train one part B UNet (resuming an interrupted run), keep its checkpoints."""

import shutil

from diffusionlab.data import MNIST
from diffusionlab.jobs import run_job, write_json
from diffusionlab.part_b import losses_table
from diffusionlab.runtime import describe, pick_device, set_threads, use_bf16
from diffusionlab.training import TrainSettings, discard_resume_state, files_digest, train


def main(settings: dict, performance: dict, device: str, threads: int, data: str,
         code: list[str], checkpoints: list[str], losses_csv: str, info_json: str,
         workdir: str) -> None:
    set_threads(threads)
    dev = pick_device(device)
    bf16 = use_bf16(performance["precision"], dev)
    s = TrainSettings(**{**settings, "checkpoint_epochs": tuple(settings["checkpoint_epochs"])},
                      channels_last=performance["channels_last"], autocast_bf16=bf16,
                      compile=performance["compile"])
    mnist = MNIST.load(data)
    # The resume state is bound to the code that trains: the package modules and this script.
    result = train(s, mnist.train_images, mnist.train_labels, workdir, dev, mnist.meta,
                   code=files_digest([*code, __file__]))
    for epoch, path in zip(s.checkpoint_epochs, checkpoints, strict=True):
        shutil.copyfile(result["checkpoints"][epoch], path)
    losses_table(result["losses"]).to_csv(losses_csv, index=False, float_format="%.6g")
    write_json({"settings": settings, "bf16": bf16, "channels_last": s.channels_last,
                "compile": s.compile, "data": mnist.meta, "machine": describe(dev)}, info_json)
    discard_resume_state(workdir)  # finished: a rerun Snakemake starts is a fresh training


if __name__ == "__main__":
    sm = snakemake  # noqa: F821 (injected by Snakemake)
    run_job(main, sm.log[0], sm.params.settings, sm.params.performance, sm.params.device,
            sm.threads, sm.input.data, list(sm.input.code), list(sm.output.checkpoints),
            sm.output.losses, sm.output.info, sm.params.workdir)
