"""Does bf16 sampling move the metrics? fp32 against bf16 forward passes on a trained model.

Samples a finished run's class-conditioned (or time-conditioned) checkpoint with every DDPM
step, in fp32 and with `performance.sample_precision: bf16`, from the same noise, for a few
seeds, and prints the evaluation's Frechet distance and class accuracy of each, with the wall
time; the seeds show how much the metric moves by chance alone:

    python -m benchmarks.sample_precision --results results --model class --epoch 20
"""

from __future__ import annotations

import argparse
from pathlib import Path

from diffusionlab.data import MNIST
from diffusionlab.evaluation.classifier import load_classifier
from diffusionlab.evaluation.sample_quality import sampler_quality
from diffusionlab.schedule import DDPMSchedule
from diffusionlab.training import load_checkpoint

from . import common

COLUMNS = ["seed", "precision", "frechet_distance", "floor", "class_accuracy", "seconds"]


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_arguments(parser)
    parser.add_argument("--results", default="results", help="a finished run's results folder")
    parser.add_argument("--model", choices=("time", "class"), default="class")
    parser.add_argument("--epoch", type=int, required=True, help="the checkpoint's epoch")
    parser.add_argument("--samples", type=int, default=100, help="digits per run (default 100)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[180, 181])
    args = parser.parse_args(argv)
    common.setup_threads(args.threads)
    cfg = common.load_config(args.config, args.preset)
    device = common.devices(args.devices)[-1]
    results = Path(args.results)
    mnist = MNIST.load(results / "data" / "mnist.pt")
    classifier = load_classifier(results / "evaluation" / "classifier.pt", device)
    path = results / "part_b" / args.model / "checkpoints" / f"epoch{args.epoch}.pt"
    s = cfg["part_b"]["schedule"]
    schedule = DDPMSchedule.linear(s["num_steps"], s["beta_start"], s["beta_end"])
    guidance = cfg["part_b"]["class"]["guidance"] if args.model == "class" else 0.0
    rows = []
    for seed in args.seeds:
        for precision in ("fp32", "bf16"):
            quality, timing = sampler_quality(
                load_checkpoint(path, device, precision), schedule, classifier,
                mnist.train_images, mnist.test_images, steps=[schedule.num_steps],
                methods=["ddpm"], num_samples=args.samples, seed=seed, guidance=guidance,
                variance=s["variance"], batch_size=args.samples, device=device)
            row = {"seed": seed, "precision": precision, **quality.iloc[0].to_dict(),
                   "seconds": round(float(timing["seconds"].iloc[0]), 1)}
            rows.append({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()})
    facts = common.facts_line(common.machine_facts(device))
    common.report(rows, COLUMNS, f"fp32 and bf16 sampling of {path}", facts, args.csv,
                  args.markdown)
    return rows


if __name__ == "__main__":
    main()
