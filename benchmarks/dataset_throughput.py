"""Training throughput of every architecture of the deep dive at 32x32x3 and 64x64x3, and the
time of Fashion-MNIST class-conditioned training at part B's reference settings.

1. Per architecture that config.yaml configures (part B's three course UNets, `part_b.<model>`,
   and every run of `deep_dive.models`: diffusers' UNet2DModel at its widths and attention, the
   course class UNet of Fashion-MNIST; runs with the same network and batch are measured once),
   per input size (3 channels, 10 classes for class models) and device: training images/s
   through the pipeline's own step (`train_throughput.measure`: `training.train_step` with its
   optimiser, moving average and channels-last setting) in fp32, and under bf16 autocast where
   `runtime.use_bf16("auto", device)` says it is fast; `pipeline` marks what the workflow runs
   (`performance` in config.yaml). Batch size: the run's own, or --batch-size.
2. Fashion-MNIST class-conditioned at the reference settings (`deep_dive.models.fashion`: course
   class UNet, D = 64, batch 128, 20 epochs; 1x28x28, 10 classes): images/s over --fashion-steps
   steps, projected to one epoch of 60,000 images and to the run's epochs
   (`projection.run_seconds`).

Warm-up steps are not timed. Images are random (speed does not depend on their content); the
weights are the seeded initial ones. Every table names the CPU model and torch version.

    python -m benchmarks.dataset_throughput --steps 2 --fashion-steps 5 \\
        --csv benchmarks/out/dataset_throughput.csv --markdown benchmarks/out/dataset.md
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import torch

from diffusionlab.deep_dive.runs import train_settings as run_train_settings
from diffusionlab.rule_params import MODELS
from diffusionlab.rule_params import train_settings as part_b_train_settings
from diffusionlab.runtime import cpu_model, use_bf16
from diffusionlab.training import TrainSettings, new_model

from . import common, projection
from .train_throughput import TrainPath, measure, path_settings, pipeline_path

SIZES = (32, 64)
CLASSES = 10
FASHION = "fashion"  # deep_dive.models.<FASHION>: Fashion-MNIST at part B's reference settings
FASHION_SHAPE = (1, 28, 28)
COLUMNS = ["architecture", "network", "parameters", "input", "batch", "precision", "pipeline",
           "device", "cpu", "steps", "images_per_s", "s_per_step"]
FASHION_COLUMNS = ["network", "input", "batch", "precision", "pipeline", "device", "cpu",
                   "steps", "images_per_s", "s_per_step", "epoch_images", "epoch_min", "epochs",
                   "run_min", "run_h"]


def architectures(config: dict) -> dict[str, dict]:
    """The configured jobs' training settings by name (part_b.<model>, deep_dive.<run>),
    without the network's data-set part (channels, size, classes)."""
    jobs = {f"part_b.{m}": part_b_train_settings(config, m) for m in MODELS}
    jobs |= {f"deep_dive.{name}": run_train_settings(config, name)
             for name in config.get("deep_dive", {}).get("models", {})}
    return jobs


def on_data(raw: dict, shape: tuple[int, int, int], batch_size: int | None = None) -> dict:
    """A job's settings for images of `shape` (C, H, W), with CLASSES classes for class models."""
    model = {**(raw.get("model") or {}), "channels": shape[0], "image_size": shape[1]}
    if raw["kind"] == "class":
        model["num_classes"] = CLASSES
    return {**raw, "model": model, "batch_size": batch_size or raw["batch_size"]}


def network(s: TrainSettings) -> str:
    """A short name of a settings' network, e.g. "course class D=64", "unet2d time [64, 128]"."""
    spec = s.spec()
    if spec["arch"] == "course":
        return f"course {spec['kind']} D={spec['hidden']}"
    attention = ",".join(map(str, spec["attention_resolutions"])) or "none"
    return f"unet2d {spec['kind']} {spec['widths']} attn {attention}"


def precisions(performance: dict, device: torch.device) -> list[TrainPath]:
    """fp32, and bf16 autocast where it is fast on the device; both with the config's
    channels-last and compile switches."""
    fp32 = dataclasses.replace(pipeline_path(performance, device), bf16=False)
    return [fp32] + ([dataclasses.replace(fp32, bf16=True)] if use_bf16("auto", device) else [])


def random_data(shape: tuple[int, int, int], batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Two batches of random uint8 images and their labels (enough for the tensor batches)."""
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (2 * batch, *shape), generator=g, dtype=torch.uint8)
    return images, torch.arange(2 * batch) % CLASSES


def measure_row(raw: dict, shape: tuple[int, int, int], path: TrainPath, performance: dict,
                device: torch.device, steps: int, warmup: int) -> dict:
    """Images/s of one job's settings on `shape` along `path` (a row of either table)."""
    s = path_settings(raw, path)
    images, labels = random_data(shape, s.batch_size)
    r = measure(s, path, images, labels, device, steps, warmup)
    return {"network": network(s), "input": "x".join(map(str, shape)), "batch": s.batch_size,
            "precision": "bf16" if path.bf16 else "fp32",
            "pipeline": "yes" if path == pipeline_path(performance, device) else "",
            "device": str(device), "cpu": cpu_model(), "steps": steps,
            "images_per_s": round(r["images"] / r["seconds"], 1),
            "s_per_step": round(r["seconds"] / steps, 3)}


def throughput(config: dict, names: list[str], sizes: list[int], devs: list[torch.device],
               steps: int, warmup: int, batch_size: int | None = None, log=print) -> list[dict]:
    """One row per (architecture, size, device, precision); architectures whose network and
    batch another one listed before has are measured once, under both names."""
    jobs = architectures(config)
    rows = []
    for size in sizes:
        shape = (3, size, size)
        groups: dict[str, list[str]] = {}
        for name in names:
            raw = on_data(jobs[name], shape, batch_size)
            key = json.dumps([path_settings(raw, TrainPath()).spec(), raw["batch_size"]])
            groups.setdefault(key, []).append(name)
        for group in groups.values():
            raw = on_data(jobs[group[0]], shape, batch_size)
            parameters = sum(p.numel() for p in new_model(path_settings(raw, TrainPath()))
                             .parameters())
            for device in devs:
                for path in precisions(config["performance"], device):
                    row = measure_row(raw, shape, path, config["performance"], device, steps,
                                      warmup)
                    rows.append({"architecture": " = ".join(group), "parameters": parameters,
                                 **row})
                    log(f"  {rows[-1]['architecture']} {row['input']} {device} "
                        f"{row['precision']}: {row['images_per_s']} images/s")
    return rows


def fashion(config: dict, devs: list[torch.device], steps: int, warmup: int,
            digits: int = projection.REFERENCE_DIGITS, log=print) -> list[dict]:
    """Fashion-MNIST at the reference settings: measured images/s, projected epoch and run."""
    raw = on_data(run_train_settings(config, FASHION), FASHION_SHAPE)
    rows = []
    for device in devs:
        for path in precisions(config["performance"], device):
            row = measure_row(raw, FASHION_SHAPE, path, config["performance"], device, steps,
                              warmup)
            _, epoch_s = projection.run_seconds(row["images_per_s"], raw["batch_size"], 1, digits)
            _, run_s = projection.run_seconds(row["images_per_s"], raw["batch_size"],
                                              raw["epochs"], digits)
            rows.append({**row, "epoch_images": digits, "epoch_min": round(epoch_s / 60, 2),
                         "epochs": raw["epochs"], "run_min": round(run_s / 60, 1),
                         "run_h": round(run_s / 3600, 2)})
            log(f"  {FASHION} {device} {row['precision']}: {row['images_per_s']} images/s")
    return rows


def main(argv: list[str] | None = None) -> dict[str, list[dict]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_arguments(parser)
    parser.add_argument("--architectures", nargs="+", metavar="NAME",
                        help="jobs to measure, e.g. part_b.time deep_dive.cifar10 (default: all "
                             "of part_b and deep_dive.models)")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES),
                        help="image sizes S of the S x S x 3 inputs (default: 32 64)")
    parser.add_argument("--steps", type=int, default=2, help="timed steps per measurement")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps before timing")
    parser.add_argument("--batch-size", type=int,
                        help="batch size of every architecture (default: each job's own)")
    parser.add_argument("--fashion-steps", type=int, default=5,
                        help="timed steps of the Fashion-MNIST measurement (0: skip it)")
    parser.add_argument("--digits", type=int, default=projection.REFERENCE_DIGITS,
                        help="images of a projected Fashion-MNIST epoch (default: 60,000)")
    parser.add_argument("--fashion-csv", help="also write the Fashion-MNIST table to this CSV")
    args = parser.parse_args(argv)
    common.setup_threads(args.threads)
    config = common.load_config(args.config, args.preset)
    devs = common.devices(args.devices)
    known = list(architectures(config))
    names = args.architectures or known
    if unknown := [n for n in names if n not in known]:
        parser.error(f"unknown architecture(s) {unknown}; choose from {known}")
    facts = common.facts_line(common.machine_facts(devs[-1]))
    tables = {"throughput": throughput(config, names, args.sizes, devs, args.steps,
                                       args.warmup, args.batch_size)}
    text = common.report(tables["throughput"], COLUMNS,
                         "Training throughput per architecture (images/s)", facts, args.csv)
    if args.fashion_steps > 0:
        tables["fashion"] = fashion(config, devs, args.fashion_steps, args.warmup, args.digits)
        text += "\n" + common.report(
            tables["fashion"], FASHION_COLUMNS,
            f"Fashion-MNIST class-conditioned at the reference settings ({args.digits:,} "
            "images an epoch)", facts, args.fashion_csv)
    if args.markdown:
        Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(args.markdown).write_text(text)
    return tables


if __name__ == "__main__":
    main()
