"""Sampling speed of the part B DDPMs: wall time of one sampling run, and samples/s.

The class-conditioned UNet draws 4 samples of each digit (40) with classifier-free guidance
(gamma 5: conditional and unconditional passes batched together, 80 images per UNet call); the
time-conditioned one draws 40 samples; both at T = 300 (sizes from config.yaml); `--batch-sizes`
draws other batches (the class-conditioned one with classes 0-9 in turn). Each runs
`diffusionlab.sampling.sample` on a network loaded as the jobs load it (batch norms folded into
the convolutions, `unet.fold_batch_norms`): fp32, or bf16 through
`runtime.bf16_forward` (autocast, channels-last), on the CPU and on the GPU when present;
`pipeline` marks the one the sample rule runs there (performance.sample_precision). A short
untimed run of a few steps warms each variant up. The weights are the seeded initial ones: the
time per step does not depend on their values.

    python -m benchmarks.sampling_throughput --csv benchmarks/out/sampling.csv
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch

from diffusionlab.part_b import sample_classes
from diffusionlab.rule_params import MODELS
from diffusionlab.runtime import bf16_forward, use_bf16
from diffusionlab.sampling import sample
from diffusionlab.schedule import DDPMSchedule
from diffusionlab.unet import build, fold_batch_norms

from . import common

SAMPLERS = ("time", "class")
PRECISIONS = ("fp32", "bf16")
COLUMNS = ["model", "samples", "steps", "device", "precision", "pipeline", "seconds",
           "samples_per_s", "sample_steps_per_s"]


def sampling_job(config: dict, model: str, num_steps: int | None = None,
                 batch_size: int | None = None) -> dict:
    """What the sample rule draws for `model`: schedule, sample count, classes and guidance
    (batch_size: that many samples instead, for the class-conditioned model a multiple of 10)."""
    part_b = config["part_b"]
    sched = part_b["schedule"]
    job = {
        "schedule": DDPMSchedule.linear(num_steps or sched["num_steps"], sched["beta_start"],
                                        sched["beta_end"]),
        "variance": sched["variance"], "classes": None, "guidance": 0.0,
        "num_samples": part_b[model].get("num_samples"),
    }
    if model == "class":
        if batch_size is not None and batch_size % 10:
            raise SystemExit(f"--batch-sizes: {batch_size} is not a multiple of 10 (classes 0-9)")
        per_class = part_b["class"]["samples_per_class"] if batch_size is None else batch_size // 10
        job["classes"] = sample_classes(per_class)
        job["guidance"] = part_b["class"]["guidance"]
        job["num_samples"] = len(job["classes"])
    elif batch_size is not None:
        job["num_samples"] = batch_size
    return job


def time_sampling(net: torch.nn.Module, job: dict, device: torch.device, seed: int,
                  schedule: DDPMSchedule | None = None) -> float:
    """Seconds of one sampling run (the job's schedule unless another is given)."""
    common.synchronize(device)
    start = time.perf_counter()
    sample(net, schedule or job["schedule"], job["num_samples"],
           generator=torch.Generator().manual_seed(seed), classes=job["classes"],
           guidance=job["guidance"], variance=job["variance"], device=device)
    common.synchronize(device)
    return time.perf_counter() - start


def run(config: dict, models: list[str], devs: list[torch.device], precisions: list[str],
        num_steps: int | None = None, repeats: int = 1, warmup_steps: int = 3,
        hidden: int | None = None, batch_sizes: list[int | None] | None = None,
        log=print) -> list[dict]:
    rows = []
    for model in models:
        section = config["part_b"][model]
        for batch_size in batch_sizes or [None]:
            job = sampling_job(config, model, num_steps, batch_size)
            betas = job["schedule"].betas
            warm = DDPMSchedule.linear(warmup_steps, betas[0].item(), betas[-1].item()) \
                if warmup_steps > 0 else None
            for device in devs:
                pipeline_bf16 = use_bf16(config["performance"]["sample_precision"], device)
                torch.manual_seed(config["seed"])
                net = fold_batch_norms(
                    build(MODELS[model], hidden or section["hidden"]).to(device).eval())
                for precision in precisions:
                    bf16 = precision == "bf16"
                    loaded = bf16_forward(copy.deepcopy(net), device) if bf16 else net
                    if warm is not None:
                        time_sampling(loaded, job, device, config["seed"], warm)
                    seconds = statistics.median(time_sampling(loaded, job, device, config["seed"])
                                                for _ in range(repeats))
                    n, steps = job["num_samples"], job["schedule"].num_steps
                    log(f"  {model} {n} samples {device} {precision}: {seconds:.2f} s")
                    rows.append({
                        "model": model, "samples": n, "steps": steps, "device": str(device),
                        "precision": precision,
                        "pipeline": "yes" if bf16 == pipeline_bf16 else "",
                        "seconds": round(seconds, 3),
                        "samples_per_s": round(n / seconds, 2),
                        "sample_steps_per_s": round(n * steps / seconds),
                    })
    return rows


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_arguments(parser)
    parser.add_argument("--models", nargs="+", default=list(SAMPLERS), choices=SAMPLERS)
    parser.add_argument("--precisions", nargs="+", default=list(PRECISIONS), choices=PRECISIONS)
    parser.add_argument("--num-steps", type=int,
                        help="override T of the schedule (default: the config's, 300)")
    parser.add_argument("--hidden", type=int, help="override the models' hidden width D")
    parser.add_argument("--batch-sizes", type=int, nargs="+",
                        help="samples per run (default: the sample figure's)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="timed runs per variant; the median is reported")
    parser.add_argument("--warmup-steps", type=int, default=3,
                        help="steps of the untimed warm-up run")
    args = parser.parse_args(argv)
    common.setup_threads(args.threads)
    config = common.load_config(args.config, args.preset)
    devs = common.devices(args.devices)
    rows = run(config, args.models, devs, args.precisions, args.num_steps, args.repeats,
               args.warmup_steps, args.hidden, args.batch_sizes)
    facts = common.facts_line(common.machine_facts(devs[-1]))
    common.report(rows, COLUMNS, "Sampling throughput", facts, args.csv, args.markdown)
    return rows


if __name__ == "__main__":
    main()
