"""What the benchmark scripts share: the config, the devices, machine facts and result tables."""

from __future__ import annotations

import argparse
import csv
import datetime
import os
from collections.abc import Sequence
from pathlib import Path

import torch
import yaml
from snakemake.utils import update_config

from diffusionlab.data import MNIST, load_mnist
from diffusionlab.runtime import describe, pick_device, set_threads

ROOT = Path(__file__).resolve().parents[1]


def load_config(config: str | Path = ROOT / "config.yaml", presets: Sequence[str | Path] = ()):
    """The workflow's config with presets laid over it, as `--configfile` does."""
    cfg = yaml.safe_load(Path(config).read_text())
    for preset in presets:
        update_config(cfg, yaml.safe_load(Path(preset).read_text()))
    return cfg


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=str(ROOT / "config.yaml"),
                        help="the workflow config giving model sizes (default: config.yaml)")
    parser.add_argument("--preset", action="append", default=[], metavar="YAML",
                        help="a preset laid over the config, like --configfile (repeatable)")
    parser.add_argument("--devices", default="auto",
                        help="comma-separated devices; auto: cpu, plus cuda when present")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--csv", help="also write the table to this CSV file")
    parser.add_argument("--markdown", help="also write the table to this markdown file")


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", default="embedded", choices=("embedded", "folder",
                        "torchvision"), help="MNIST source, as data.source (default: embedded)")
    parser.add_argument("--root", default="data", help="MNIST folder, as data.root")
    parser.add_argument("--train-size", type=int, default=None,
                        help="keep only the first N training digits")


def load_data(args: argparse.Namespace) -> MNIST:
    return load_mnist(args.source, args.root, train_size=args.train_size)


def devices(setting: str) -> list[torch.device]:
    """auto: the CPU, and the GPU too when CUDA is present; else a comma-separated list."""
    if setting == "auto":
        names = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    else:
        names = [n.strip() for n in setting.split(",") if n.strip()]
    return [pick_device(n) for n in names]


def setup_threads(threads: int | None) -> None:
    if threads is not None:
        set_threads(threads)


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work, so that a clock read covers it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def machine_facts(device: torch.device) -> dict:
    """The machine a figure was measured on: CPU, cores, load, torch, GPU; and the date."""
    facts = describe(device)
    facts.update(
        cores=os.cpu_count(),
        load_1min=round(os.getloadavg()[0], 2),
        date=datetime.datetime.now().astimezone().isoformat(timespec="minutes"),
    )
    return facts


def facts_line(facts: dict) -> str:
    line = (f"{facts['date']} · {facts['cpu']} ({facts['cores']} cores, torch threads "
            f"{facts['cpu_threads']}, 1-min load {facts['load_1min']}) · torch {facts['torch']}")
    return line + (f" · GPU {facts['gpu']}" if "gpu" in facts else "")


def markdown_table(rows: Sequence[dict], columns: Sequence[str]) -> str:
    """A markdown table with one row per dict, ready to paste into docs/benchmarks.md."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join(" --- " for _ in columns) + "|"]
    lines += ["| " + " | ".join(str(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def report(rows: Sequence[dict], columns: Sequence[str], title: str, subtitle: str,
           csv_path: str | None = None, md_path: str | None = None) -> str:
    """Print the table (markdown) under a title and a line such as the machine facts.

    Also writes the rows to a CSV file and the printed text to a markdown file when asked.
    """
    text = f"### {title}\n\n{subtitle}\n\n{markdown_table(rows, columns)}\n"
    print(text, flush=True)
    if csv_path:
        Path(csv_path).parent.mkdir(parents=True, exist_ok=True)
        with open(csv_path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(columns), extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
    if md_path:
        Path(md_path).parent.mkdir(parents=True, exist_ok=True)
        Path(md_path).write_text(text)
    return text
