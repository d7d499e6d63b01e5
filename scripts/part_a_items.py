"""Rules of part A's items: open the backend, run one item of diffusionlab.part_a.items."""

from diffusionlab.jobrunner import run_job
from diffusionlab.part_a.items import run
from diffusionlab.runtime import set_threads

if __name__ == "__main__":
    sm = snakemake  # noqa: F821 (injected by Snakemake)
    set_threads(sm.threads)
    backend = dict(sm.params.backend)
    if backend["name"] == "deepfloyd":  # not a param: see item_params.backend_spec
        backend["cpu_offload"] = sm.config["part_a"]["deepfloyd"]["cpu_offload"]
    run_job(run, sm.log[0], sm.params.job, backend, sm.params.device,
            dict(sm.input.items()), dict(sm.output.items()), sm.params.args)
