"""Rules of part A's items: open the backend, run one item of diffusionlab.part_a.items."""

from diffusionlab.jobrunner import run_job
from diffusionlab.part_a.item_params import runtime_backend
from diffusionlab.part_a.items import run
from diffusionlab.runtime import set_threads

if __name__ == "__main__":
    sm = snakemake  # noqa: F821 (injected by Snakemake)
    set_threads(sm.threads)
    run_job(run, sm.log[0], sm.params.job, runtime_backend(sm.config, dict(sm.params.backend)),
            sm.params.device, dict(sm.input.items()), dict(sm.output.items()), sm.params.args)
