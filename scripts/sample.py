"""Rule sample: a grid of samples and its animation from a DDPM checkpoint."""

from diffusionlab.jobrunner import run_job
from diffusionlab.part_b import sample_classes, sampling_figures
from diffusionlab.runtime import pick_device, set_threads
from diffusionlab.schedule import DDPMSchedule


def main(checkpoint, grid, gif, schedule, num_samples=None, samples_per_class=None,
         guidance=0.0, seed=0, frame_every=10, frame_ms=80, device="auto", precision="fp32"):
    classes = None if samples_per_class is None else sample_classes(samples_per_class)
    sampling_figures(
        checkpoint,
        DDPMSchedule.linear(schedule["num_steps"], schedule["beta_start"], schedule["beta_end"]),
        num_samples=num_samples if classes is None else len(classes), seed=seed,
        grid_path=grid, gif_path=gif, classes=classes, guidance=guidance,
        variance=schedule["variance"], frame_every=frame_every, frame_ms=frame_ms,
        device=pick_device(device), precision=precision,
    )


if __name__ == "__main__":
    sm = snakemake  # noqa: F821 (injected by Snakemake)
    set_threads(sm.threads)
    run_job(main, sm.log[0], sm.input.checkpoint, sm.output.grid, sm.output.gif, **sm.params.args)
