"""Rule train: train one part B UNet (resuming an interrupted run), keep its checkpoints."""

from diffusionlab.data import MNIST
from diffusionlab.jobrunner import run_job
from diffusionlab.runtime import pick_device, set_threads
from diffusionlab.training import job_settings, train_job


def main(settings: dict, performance: dict, device: str, threads: int, data: str,
         code: list[str], checkpoints: list[str], losses_csv: str, info_json: str,
         workdir: str) -> None:
    set_threads(threads)
    dev = pick_device(device)
    s = job_settings(settings, performance, dev)
    mnist = MNIST.load(data)
    # The resume state is bound to the code that trains: the package modules and this script.
    train_job(s, mnist.train_images, mnist.train_labels, mnist.meta, workdir=workdir, device=dev,
              code_files=[*code, __file__],
              checkpoints=dict(zip(s.checkpoint_epochs, checkpoints, strict=True)),
              losses_csv=losses_csv, info_json=info_json, info={"settings": settings})


if __name__ == "__main__":
    sm = snakemake  # noqa: F821 (injected by Snakemake)
    run_job(main, sm.log[0], sm.params.settings, sm.params.performance, sm.params.device,
            sm.threads, sm.input.data, list(sm.input.code), list(sm.output.checkpoints),
            sm.output.losses, sm.output.info, sm.params.workdir)
