"""Training throughput (images/s) of the three part B UNets, starter-code loop vs the project's.

Paths, each on the same model, machine and number of steps (warm-up steps excluded):

- `dataloader`: the exercise's starter code: torchvision's MNIST dataset (one PIL image per
  index, `ToTensor()`), a `DataLoader` with shuffle=True batching it, fp32, default memory format;
- `tensor`: the project's batching (the training set as one tensor on the device, batches by
  indexing a permutation), fp32;
- `tensor-cl`: the same with channels-last images and weights;
- `tensor-cl-bf16`: the same under bf16 autocast;
- `compile` (only with --compile): the pipeline's path with torch.compile.

The row marked `pipeline` is what the workflow runs with its `performance` config on that device
(precision auto, as `diffusionlab.runtime.use_bf16` decides it: bf16 on CUDA and on a CPU with
AMX or AVX512-BF16, fp32 elsewhere); every row names the CPU model it ran on. Every path runs the
pipeline's own training step: `diffusionlab.training.train_step` with the noise drawn on the
device, the optimiser of `make_optimizer` and the config's moving average of the weights
(ema_decay); the starter loop reads each loss with `loss.item()` (a host sync per step on a GPU),
the tensor paths read them all at the end, as the pipeline does once per epoch.

    python -m benchmarks.train_throughput --steps 5 --csv benchmarks/out/train.csv --project
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import statistics
import time
from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader
from torchvision.datasets import MNIST as TorchvisionMNIST
from torchvision.transforms import ToTensor

from diffusionlab.data import as_float
from diffusionlab.rule_params import MODELS, train_settings
from diffusionlab.runtime import cpu_model, use_bf16
from diffusionlab.training import (
    EMA,
    TrainSettings,
    epoch_generator,
    make_optimizer,
    new_model,
    train_step,
)

from . import common, projection


class StarterMNIST(TorchvisionMNIST):
    """torchvision's MNIST dataset, per-index `__getitem__` included, over digits in memory.

    Indexing returns what the starter code's `MNIST(root, transform=ToTensor())` returns: the
    digit converted to a PIL image, then to a float tensor [1, 28, 28] in [0, 1], and an int label.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform=None):
        super(TorchvisionMNIST, self).__init__(root=None, transform=transform)
        self.train = True
        # torchvision holds MNIST as [N, 28, 28]: drop the prepared data's channel axis
        self.data = images[:, 0] if images.ndim == 4 else images
        self.targets = labels


def starter_loader(images: torch.Tensor, labels: torch.Tensor, batch_size: int, seed: int,
                   workers: int = 0) -> DataLoader:
    """The starter code's loader: per-sample dataset with ToTensor, shuffled, default collate."""
    return DataLoader(StarterMNIST(images, labels, ToTensor()), batch_size=batch_size,
                      shuffle=True, num_workers=workers,
                      generator=torch.Generator().manual_seed(seed))


def loader_batches(loader: DataLoader, device: torch.device) -> Iterator[tuple]:
    """Batches of the loader, epoch after epoch, moved to the device as the starter code does."""
    while True:
        for x, y in loader:
            yield x.to(device), y.to(device)


def tensor_batches(images: torch.Tensor, labels: torch.Tensor, batch_size: int, seed: int,
                   device: torch.device, channels_last: bool) -> Iterator[tuple]:
    """The project's batching: the whole set on the device, batches index a permutation.

    Epoch after epoch, in the order `diffusionlab.training.train` takes them.
    """
    x_all = as_float(images).to(device)
    y_all = labels.to(device)
    if channels_last:
        x_all = x_all.contiguous(memory_format=torch.channels_last)
    n = x_all.shape[0]
    for epoch in itertools.count(1):
        order = torch.randperm(n, generator=epoch_generator(seed, epoch)).to(device)
        for lo in range(0, n - 1, batch_size):  # a last batch of one image is skipped
            idx = order[lo : lo + batch_size]
            yield x_all[idx], y_all[idx]


@dataclasses.dataclass(frozen=True)
class TrainPath:
    loader: bool = False
    channels_last: bool = False
    bf16: bool = False
    compile: bool = False

    @property
    def label(self) -> str:
        name = ("dataloader" if self.loader else "tensor") + (" bf16" if self.bf16 else " fp32")
        return name + (" +channels_last" if self.channels_last else "") + (
            " +compile" if self.compile else "")


PATHS = {
    "dataloader": TrainPath(loader=True),
    "tensor": TrainPath(),
    "tensor-cl": TrainPath(channels_last=True),
    "tensor-cl-bf16": TrainPath(channels_last=True, bf16=True),
}


def pipeline_path(performance: dict, device: torch.device) -> TrainPath:
    """What the workflow's train rule runs on `device` with this `performance` config."""
    return TrainPath(channels_last=performance["channels_last"],
                     bf16=use_bf16(performance["precision"], device),
                     compile=performance["compile"])


def settings_for(config: dict, model: str, path: TrainPath, hidden: int | None = None,
                 batch_size: int | None = None) -> TrainSettings:
    """The TrainSettings the workflow builds for `model`, with the path's performance switches."""
    raw = train_settings(config, model)
    raw["hidden"] = hidden or raw["hidden"]
    raw["batch_size"] = batch_size or raw["batch_size"]
    return path_settings(raw, path)


def path_settings(raw: dict, path: TrainPath) -> TrainSettings:
    """TrainSettings of a job's settings (train_settings' fields) on a path's switches."""
    raw = {**raw, "checkpoint_epochs": tuple(raw["checkpoint_epochs"])}
    return TrainSettings(**raw, channels_last=path.channels_last, autocast_bf16=path.bf16,
                         compile=path.compile)


def measure(s: TrainSettings, path: TrainPath, images: torch.Tensor, labels: torch.Tensor,
            device: torch.device, steps: int, warmup: int = 1, workers: int = 0) -> dict:
    """Seconds and images of `steps` training steps after `warmup` untimed ones."""
    model = new_model(s).to(device)
    if s.channels_last:
        model = model.to(memory_format=torch.channels_last)
    model.train()
    opt, _ = make_optimizer(model, s, epoch_steps=warmup + steps)
    ema = EMA(model, s.ema_decay) if s.ema_decay is not None else None
    net = torch.compile(model) if s.compile else model
    schedule = s.schedule() if s.objective == "ddpm" else None
    g = epoch_generator(s.seed, 1, device)
    if path.loader:
        batches = loader_batches(starter_loader(images, labels, s.batch_size, s.seed, workers),
                                 device)
    else:
        batches = tensor_batches(images, labels, s.batch_size, s.seed, device, s.channels_last)
    for _ in range(warmup):
        x, y = next(batches)
        train_step(net, opt, s, x, y, g, schedule, ema).item()
    common.synchronize(device)
    seen, losses = 0, []
    start = time.perf_counter()
    for _ in range(steps):
        x, y = next(batches)
        loss = train_step(net, opt, s, x, y, g, schedule, ema)
        # the starter loop reads every loss (`loss.item()`); the pipeline reads them per epoch
        losses.append(loss.item() if path.loader else loss)
        seen += x.shape[0]
    if not path.loader:
        losses = torch.stack(losses).float().cpu().tolist()
    common.synchronize(device)
    return {"seconds": time.perf_counter() - start, "images": seen, "losses": losses}


def paths_for(keys: list[str], performance: dict, device: torch.device,
              with_compile: bool) -> list[TrainPath]:
    paths = [PATHS[k] for k in keys]
    pipeline = pipeline_path(performance, device)
    if pipeline not in paths:
        paths.append(pipeline)
    if with_compile and not pipeline.compile:
        paths.append(dataclasses.replace(pipeline, compile=True))
    return paths


def run(config: dict, models: list[str], keys: list[str], devs: list[torch.device], images,
        labels, steps: int, warmup: int = 1, rounds: int = 1, hidden: int | None = None,
        batch_size: int | None = None, workers: int = 0, with_compile: bool = False,
        log=print) -> list[dict]:
    """One row per (model, device, path); images/s is the median over `rounds` interleaved runs."""
    rows = []
    for model in models:
        for device in devs:
            pipeline = pipeline_path(config["performance"], device)
            paths = paths_for(keys, config["performance"], device, with_compile)
            size = settings_for(config, model, pipeline, hidden, batch_size)
            rates: dict[TrainPath, list[float]] = {p: [] for p in paths}
            for _ in range(rounds):
                for path in paths:  # interleaved, so a change of machine load hits every path
                    s = settings_for(config, model, path, hidden, batch_size)
                    r = measure(s, path, images, labels, device, steps, warmup, workers)
                    rates[path].append(r["images"] / r["seconds"])
                    log(f"  {model} {device} {path.label}: {rates[path][-1]:.1f} images/s")
            baseline = rates.get(PATHS["dataloader"])
            base = statistics.median(baseline) if baseline else None
            for path in paths:
                rate = statistics.median(rates[path])
                rows.append({
                    "model": model, "hidden": size.hidden, "batch": size.batch_size,
                    "path": path.label, "pipeline": "yes" if path == pipeline else "",
                    "device": str(device), "cpu": cpu_model(), "steps": steps,
                    "rounds": rounds,
                    "images_per_s": round(rate, 1),
                    "speedup": round(rate / base, 2) if base else "",
                })
    return rows


COLUMNS = ["model", "hidden", "batch", "path", "pipeline", "device", "cpu", "steps",
           "images_per_s", "speedup"]


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_arguments(parser)
    common.add_data_arguments(parser)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--paths", nargs="+", default=list(PATHS), choices=list(PATHS),
                        help="paths to measure (the pipeline's own is always added)")
    parser.add_argument("--compile", action="store_true",
                        help="also measure the pipeline's path with torch.compile")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per path")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps before timing")
    parser.add_argument("--rounds", type=int, default=1,
                        help="interleaved repetitions; images/s is their median")
    parser.add_argument("--hidden", type=int, help="override every model's hidden width D")
    parser.add_argument("--batch-size", type=int, help="override every model's batch size")
    parser.add_argument("--workers", type=int, default=0,
                        help="DataLoader workers of the starter loop (its default: 0)")
    parser.add_argument("--project", action="store_true",
                        help="also print the projected time of the full reference run")
    parser.add_argument("--digits", type=int, default=projection.REFERENCE_DIGITS,
                        help="training digits of the projected run (default: 60,000)")
    args = parser.parse_args(argv)
    common.setup_threads(args.threads)
    config = common.load_config(args.config, args.preset)
    devs = common.devices(args.devices)
    data = common.load_data(args)
    rows = run(config, args.models, args.paths, devs, data.train_images, data.train_labels,
               args.steps, args.warmup, args.rounds, args.hidden, args.batch_size, args.workers,
               args.compile)
    facts = common.facts_line(common.machine_facts(devs[-1]))
    common.report(rows, COLUMNS, "Training throughput", facts, args.csv, args.markdown)
    if args.project:
        projection.report_projection(rows, config, args.digits, facts)
    return rows


if __name__ == "__main__":
    main()
